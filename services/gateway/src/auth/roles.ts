import { SetMetadata } from '@nestjs/common';

/**
 * The roles of a workspace member, each including the ones before it:
 * viewer reads; operator also starts and stops campaigns, uploads contacts
 * and works the Human queue; campaign_manager also changes campaigns
 * (stages, strategies, settings), exports and imports; admin also manages
 * the workspace: credentials, members, API keys, policies, the audit log.
 */
export const ROLES = ['viewer', 'operator', 'campaign_manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** True when `held` includes `needed`. */
export function roleIncludes(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** Who is calling: resolved by the AuthGuard, kept on the request. */
export interface Principal {
  /** Stable id of the caller in audit records: `apikey:<id>` or `oidc:<issuer>#<subject>`. */
  readonly actor: string;
  /** For people: a name or e-mail to show; for keys: the key's name. */
  readonly actorName: string;
  readonly workspaceId: string;
  readonly role: Role;
  readonly via: 'api_key' | 'oidc' | 'session';
}

export const ROLE_KEY = 'herald:role';
export const PUBLIC_KEY = 'herald:public';
export const AUDITED_KEY = 'herald:audited';

/** The least role a route needs. A route with neither @Allow nor @Public is refused to everyone (denied by default). */
export const Allow = (role: Role) => SetMetadata(ROLE_KEY, role);

/** A route anyone may call: health, the portal's files, provider webhooks (they carry their own signatures). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** A read worth an audit record (exports of personal data, whole-history reads); every other method but GET is audited anyway. */
export const Audited = (action: string) => SetMetadata(AUDITED_KEY, action);
