import { COMMUNICATION_STATUSES, OUTCOMES, type CommunicationState, type ContactState, type JsonObject } from '@herald/contracts';
import type { MessageData } from '../runtime/strategy-runner';

/**
 * The CLI's input files: a contact as a strategy author writes it, in the
 * SDK's snake_case (`current_stage`, `internal_data`) or the platform's
 * camelCase, with everything optional but an identifier. Errors name the
 * file and the field.
 */

export class InputError extends Error {}

type Obj = Record<string, unknown>;

const pick = (o: Obj, snake: string, camel: string): unknown => (o[snake] !== undefined ? o[snake] : o[camel]);

function text(o: Obj, snake: string, camel: string, where: string): string | null {
  const v = pick(o, snake, camel);
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new InputError(`${where}.${snake}: expected a string, got ${JSON.stringify(v)}`);
}

function object(o: Obj, snake: string, camel: string, where: string): JsonObject {
  const v = pick(o, snake, camel);
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${where}.${snake}: expected an object`);
  return v as JsonObject;
}

function date(o: Obj, snake: string, camel: string, where: string, required = false): string | null {
  const v = text(o, snake, camel, where);
  if (v === null) {
    if (required) throw new InputError(`${where}.${snake}: required`);
    return null;
  }
  // Naive times are UTC, as in the SDK.
  const withZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(v) || !v.includes('T') ? v : `${v}Z`;
  const d = new Date(withZone);
  if (Number.isNaN(d.getTime())) throw new InputError(`${where}.${snake}: "${v}" is not an ISO-8601 date`);
  return d.toISOString();
}

export function parseJsonFile(name: string, content: string): unknown {
  try {
    return JSON.parse(content);
  } catch (error) {
    throw new InputError(`${name}: not valid JSON (${(error as Error).message})`);
  }
}

function communication(raw: unknown, where: string, index: number): CommunicationState {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${where}: expected an object`);
  const o = raw as Obj;
  const status = (text(o, 'status', 'status', where) ?? 'PLANNED').toUpperCase();
  if (!(COMMUNICATION_STATUSES as readonly string[]).includes(status)) throw new InputError(`${where}.status: "${status}" is not one of ${COMMUNICATION_STATUSES.join(', ')}`);
  const stageName = text(o, 'stage_name', 'stageName', where);
  if (!stageName) throw new InputError(`${where}.stage_name: required`);
  return {
    id: text(o, 'id', 'id', where) ?? `communication-${index + 1}`,
    name: text(o, 'name', 'name', where) ?? stageName,
    stageName,
    startDate: date(o, 'start_date', 'startDate', where, true)!,
    endDate: date(o, 'end_date', 'endDate', where),
    status: status as CommunicationState['status'],
    sessionStatus: text(o, 'session_status', 'sessionStatus', where),
    result: text(o, 'result', 'result', where),
    channel: text(o, 'channel', 'channel', where),
    agent: text(o, 'agent', 'agent', where),
    variant: text(o, 'variant', 'variant', where),
    startedAt: date(o, 'started_at', 'startedAt', where),
    finishedAt: date(o, 'finished_at', 'finishedAt', where),
    sessionId: text(o, 'session_id', 'sessionId', where),
    sessionResults: pick(o, 'session_results', 'sessionResults') == null ? null : object(o, 'session_results', 'sessionResults', where),
  };
}

export function contactFrom(raw: unknown, file: string, now: Date): ContactState {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${file}: expected a JSON object (a contact)`);
  const o = raw as Obj;
  const outcome = (text(o, 'outcome', 'outcome', file) ?? 'UNCERTAIN').toUpperCase();
  if (!(OUTCOMES as readonly string[]).includes(outcome)) throw new InputError(`${file}.outcome: "${outcome}" is not one of ${OUTCOMES.join(', ')}`);
  const comms = pick(o, 'communications', 'communications') ?? [];
  if (!Array.isArray(comms)) throw new InputError(`${file}.communications: expected a list`);
  const objectId = text(o, 'object_id', 'objectId', file);
  const externalId = text(o, 'external_id', 'externalId', file);
  const createdAt = date(o, 'created_at', 'createdAt', file) ?? now.toISOString();
  return {
    campaignId: 'cli',
    key: objectId ? `o:${objectId}` : externalId ? `e:${externalId}` : 'r:cli',
    objectId,
    externalId,
    name: text(o, 'name', 'name', file),
    email: text(o, 'email', 'email', file),
    phone: text(o, 'phone', 'phone', file),
    parameters: object(o, 'parameters', 'parameters', file),
    currentStage: text(o, 'current_stage', 'currentStage', file),
    outcome: outcome as ContactState['outcome'],
    // As a contact the platform created: the built-in results are there from the start.
    results: { ResultFlag: null, ResultDatetime: null, ...object(o, 'results', 'results', file) },
    internalData: object(o, 'internal_data', 'internalData', file),
    communications: comms.map((c, i) => communication(c, `${file}.communications[${i}]`, i)),
    createdAt,
    updatedAt: createdAt,
    revision: 0,
  };
}

export function messageFrom(raw: unknown, file: string, now: Date): MessageData {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${file}: expected a JSON object (a message)`);
  const o = raw as Obj;
  const role = text(o, 'role', 'role', file) ?? 'contact';
  if (role !== 'agent' && role !== 'contact') throw new InputError(`${file}.role: must be "agent" or "contact"`);
  return {
    role,
    content: text(o, 'content', 'content', file) ?? '',
    createdAt: date(o, 'created_at', 'createdAt', file) ?? now.toISOString(),
    sessionId: text(o, 'session_id', 'sessionId', file),
    communicationId: text(o, 'communication_id', 'communicationId', file),
  };
}

/** The contact as a strategy author reads it: the SDK's names. */
export function asSnakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asSnakeCase);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const free = k === 'parameters' || k === 'results' || k === 'internalData' || k === 'sessionResults';
    out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = free ? v : asSnakeCase(v);
  }
  return out;
}
