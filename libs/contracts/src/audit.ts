import type { Event } from './envelope';

/** The audit stream of a workspace: every privileged action taken in it (GET /api/audit). */
export function auditStreamId(workspaceId: string): string {
  return `audit-${workspaceId}`;
}

/**
 * The one event type of an `audit-<workspaceId>` stream: a privileged action was attempted through the API
 * (who, what, on which target, and how it ended). Type strings are a stored contract.
 */
export type AuditEvent = Event<'AuditRecorded', {
    /** `apikey:<id>` or `oidc:<issuer>#<subject>`. */
    actor: string;
    actorName: string;
    via: 'api_key' | 'oidc' | 'session';
    role: string;
    /** `<area>.<operation>`, e.g. `campaigns.start`, `contacts.exportCsv`. */
    action: string;
    /** HTTP method and path as called. */
    request: string;
    /** The ids the call named (route parameters), e.g. `{ campaignId }`. */
    target: Record<string, string>;
    outcome: 'succeeded' | 'failed' | 'denied';
    /** HTTP status answered. */
    status: number;
    requestId: string;
    at: string;
  }>;
