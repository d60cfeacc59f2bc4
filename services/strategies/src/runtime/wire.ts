import type { CommunicationState, ContactData, JsonObject } from '@herald/contracts';

/**
 * What crosses the pipe to a worker: contacts in the platform's own shape
 * (camelCase, as in libs/contracts), so nothing is renamed on this side of
 * the hot path; the worker maps them to the SDK's snake_case objects.
 */

export type StrategyHook = 'data-load' | 'aggregation' | 'intermediate';

export type ContactSnapshot = ContactData & { readonly createdAt: string };

export interface MessageData {
  readonly role: 'agent' | 'contact';
  readonly content: string;
  readonly createdAt: string;
  readonly sessionId: string | null;
  readonly communicationId: string | null;
}

export interface StrategyInput {
  readonly contact: ContactSnapshot;
  /** Data Load: the stored contact with the same key. */
  readonly existing?: ContactSnapshot | null;
  /** Aggregation: what the channel reported when the communication ended. */
  readonly sessionResults?: JsonObject | null;
  /** Intermediate analysis: the new message. */
  readonly message?: MessageData | null;
  /** Aggregation: the communication the run is about (`flagged` in Python). */
  readonly flaggedCommunicationId?: string | null;
}

export interface StrategyLogLine {
  readonly level: string;
  readonly message: string;
}

/** A communication as a strategy returns it: the ones it planned have no id yet. */
export type StrategyCommunication = Omit<CommunicationState, 'id'> & { readonly id: string | null };

export type StrategyContact = Omit<ContactData, 'communications'> & {
  readonly communications: readonly StrategyCommunication[];
};

export type StrategyOutcome =
  | { readonly ok: true; readonly contact: StrategyContact | null; readonly logs: StrategyLogLine[] }
  | { readonly ok: false; readonly error: string; readonly traceback: string; readonly logs: StrategyLogLine[] };

// Positional arrays on the pipe (field orders documented in python/runner.py):
// half the bytes of objects, and the cheapest shape for JSON on both sides.

function wireContact(c: ContactSnapshot): unknown[] {
  return [
    c.objectId, c.externalId, c.name, c.email, c.phone, c.parameters, c.currentStage, c.outcome, c.results, c.internalData,
    c.communications.length ? c.communications.map((m) => [
      m.id, m.name, m.stageName, m.startDate, m.endDate, m.status, m.sessionStatus, m.result, m.channel, m.agent, m.variant,
      m.startedAt, m.finishedAt, m.sessionId, m.sessionResults,
    ]) : [],
    c.createdAt,
  ];
}

export function wireCall(input: StrategyInput): string {
  const m = input.message;
  return JSON.stringify([
    wireContact(input.contact),
    input.existing ? wireContact(input.existing) : null,
    input.sessionResults ?? null,
    m ? [m.role, m.content, m.createdAt, m.sessionId, m.communicationId] : null,
    input.flaggedCommunicationId ?? null,
  ]);
}

export const failure = (error: string, traceback = '', logs: StrategyLogLine[] = []): StrategyOutcome => ({ ok: false, error, traceback, logs });

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function logsOf(raw: unknown): StrategyLogLine[] {
  if (!Array.isArray(raw) || !raw.length) return [];
  return raw.slice(0, 1000).map((l) => (Array.isArray(l) ? { level: String(l[0] ?? 'INFO'), message: String(l[1] ?? '') } : { level: 'INFO', message: String(l) }));
}

/** A worker's result, checked: the worker runs untrusted code and may say anything. */
export function outcomeOf(raw: unknown, input: StrategyInput | undefined): StrategyOutcome {
  if (!Array.isArray(raw)) return failure('StrategyWorkerError: malformed result');
  if (raw[0] !== 1) return failure(String(raw[1] ?? 'StrategyWorkerError: malformed result'), String(raw[2] ?? ''), logsOf(raw[3]));
  const logs = logsOf(raw[2]);
  const c = raw[1];
  if (c === null) return { ok: true, contact: null, logs };
  if (!Array.isArray(c) || c.length < 11 || !isObject(c[5]) || !isObject(c[8]) || !isObject(c[9]) || !Array.isArray(c[10])) {
    return failure('StrategyWorkerError: malformed contact from the worker', '', logs);
  }
  const before = input?.contact.communications ?? [];
  const communications: StrategyCommunication[] = [];
  for (const m of c[10] as unknown[]) {
    if (!Array.isArray(m) || m.length < 11) return failure('StrategyWorkerError: malformed communication from the worker', '', logs);
    const id = str(m[0]);
    // Platform-owned fields of known communications come from the platform's own copy, never from the worker.
    const known = id !== null && before.length ? before.find((b) => b.id === id) : undefined;
    communications.push({
      id, name: str(m[1]) ?? '', stageName: str(m[2]) ?? '', startDate: String(m[3]), endDate: str(m[4]),
      status: m[5] as CommunicationState['status'], sessionStatus: str(m[6]), result: str(m[7]), channel: str(m[8]), agent: str(m[9]), variant: str(m[10]),
      startedAt: known?.startedAt ?? null, finishedAt: known?.finishedAt ?? null, sessionId: known?.sessionId ?? null, sessionResults: known?.sessionResults ?? null,
    });
  }
  const contact: StrategyContact = {
    objectId: str(c[0]), externalId: str(c[1]), name: str(c[2]), email: str(c[3]), phone: str(c[4]), parameters: c[5], currentStage: str(c[6]),
    outcome: c[7] as ContactData['outcome'], results: c[8], internalData: c[9], communications,
  };
  return { ok: true, contact, logs };
}
