import { MAX_JSON_DEPTH, nestedDeeperThan, type JsonObject, type RowError } from '@herald/contracts';

export interface ValidRow {
  row: number;
  objectId: string | null;
  externalId: string | null;
  name: string | null;
  email: string | null;
  phone: string | null;
  parameters: JsonObject;
}

const KNOWN = new Set(['object_id', 'external_id', 'name', 'email', 'phone']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// International form: a plus and 7 to 15 digits; spaces, dashes, dots and brackets are tolerated and removed.
const PHONE = /^\+\d{7,15}$/;

const text = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
};

/** Every contact needs an email or a phone; a wrong one rejects the row with its reason. */
export function validateRow(row: number, record: Record<string, unknown>): ValidRow | RowError {
  if (typeof record.__error === 'string') return { row, field: null, message: record.__error };
  const email = text(record.email);
  const rawPhone = text(record.phone);
  const phone = rawPhone ? rawPhone.replace(/[\s\-().]/g, '') : null;
  if (!email && !phone) return { row, field: 'email', message: 'every contact needs an email or a phone' };
  if (email && !EMAIL.test(email)) return { row, field: 'email', message: `"${email}" is not a valid email address` };
  if (phone && !PHONE.test(phone)) return { row, field: 'phone', message: `"${rawPhone}" is not in international form (e.g. +12025550123)` };
  const parameters: JsonObject = {};
  for (const [k, v] of Object.entries(record)) {
    // JSON uploads can nest: a value deeper than any real parameter would overflow the stacks that serialise it.
    if (nestedDeeperThan(v)) return { row, field: k, message: `${k}: nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (!KNOWN.has(k) && k !== '') parameters[k] = (v ?? null) as JsonObject[string];
  }
  return { row, objectId: text(record.object_id), externalId: text(record.external_id), name: text(record.name), email, phone, parameters };
}

export const isRowError = (r: ValidRow | RowError): r is RowError => 'message' in r;
