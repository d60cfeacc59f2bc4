import { COMMUNICATION_STATUSES, OUTCOMES, type CommunicationState, type ContactData, type ContactState, type JsonObject } from '@herald/contracts';
import type { ContactChange } from './events';

/** A contact as a strategy returns it: communications it planned have no id yet. */
export type ContactDraft = Omit<ContactData, 'communications'> & {
  readonly communications: readonly (Omit<CommunicationState, 'id' | 'sessionResults'> & { id: string | null; sessionResults?: JsonObject | null })[];
};

export class InvalidContactError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'InvalidContactError';
  }
}

export interface DiffContext {
  /** Stage names of the campaign: current_stage and stage_name must name one. */
  readonly stages: readonly string[];
  readonly now: Date;
  /** Ids for newly planned communications; deterministic so a retried run plans the same ids. */
  readonly newCommunicationId: (index: number) => string;
}

const DETAIL_FIELDS = ['objectId', 'externalId', 'name', 'email', 'phone'] as const;

/**
 * Turns the difference between the stored contact and the one a strategy
 * returned into events. Throws InvalidContactError (naming the field) when
 * the result cannot be applied; the caller then leaves the contact unchanged.
 * Communications missing from the result are kept: history is not deleted.
 */
export function diffContact(before: ContactState, after: ContactDraft, ctx: DiffContext): ContactChange[] {
  const changes: ContactChange[] = [];
  const stageOk = (s: string | null) => s === null || ctx.stages.includes(s);

  const details: Partial<Record<(typeof DETAIL_FIELDS)[number], string | null>> = {};
  for (const f of DETAIL_FIELDS) if ((after[f] ?? null) !== before[f]) details[f] = after[f] ?? null;
  if (Object.keys(details).length) changes.push({ type: 'ContactDetailsChanged', data: details });

  if (!jsonEqual(after.parameters, before.parameters)) changes.push({ type: 'ContactParametersChanged', data: { parameters: after.parameters } });

  const stage = after.currentStage ?? null;
  if (!stageOk(stage)) throw new InvalidContactError('current_stage', `unknown stage "${stage}" (stages: ${ctx.stages.join(', ') || 'none'})`);
  if (stage !== before.currentStage) changes.push({ type: 'ContactStageChanged', data: { from: before.currentStage, to: stage } });

  const outcome = String(after.outcome ?? 'UNCERTAIN').toUpperCase() as ContactState['outcome'];
  if (!OUTCOMES.includes(outcome)) throw new InvalidContactError('outcome', `"${after.outcome}" is not one of ${OUTCOMES.join(', ')}`);
  if (outcome !== before.outcome) changes.push({ type: 'ContactOutcomeSet', data: { outcome, previous: before.outcome } });

  const results = withResultDatetime(before.results, after.results ?? {}, ctx.now);
  if (!jsonEqual(results, before.results)) changes.push({ type: 'ContactResultsChanged', data: { results } });

  if (!jsonEqual(after.internalData ?? {}, before.internalData)) {
    changes.push({ type: 'ContactInternalDataChanged', data: { internalData: after.internalData ?? {} } });
  }

  const known = new Map(before.communications.map((c) => [c.id, c]));
  let planned = 0;
  after.communications.forEach((c, i) => {
    const field = `communications[${i}]`;
    if (!c.stageName || !stageOk(c.stageName)) throw new InvalidContactError(`${field}.stage_name`, `unknown stage "${c.stageName}"`);
    const startDate = isoOrThrow(c.startDate, `${field}.start_date`);
    const endDate = c.endDate == null ? null : isoOrThrow(c.endDate, `${field}.end_date`);
    if (endDate && endDate <= startDate) throw new InvalidContactError(`${field}.end_date`, 'must be after start_date');
    const previous = c.id ? known.get(c.id) : undefined;
    if (!previous) {
      const id = ctx.newCommunicationId(planned++);
      changes.push({ type: 'CommunicationPlanned', data: { communication: { id, name: c.name || c.stageName, stageName: c.stageName, startDate, endDate } } });
      return;
    }
    if (!COMMUNICATION_STATUSES.includes(c.status)) throw new InvalidContactError(`${field}.status`, `"${c.status}" is not a communication status`);
    if (previous.status === 'PLANNED' && c.status === 'INTERRUPTED') {
      changes.push({ type: 'CommunicationCancelled', data: { communicationId: previous.id } });
      return;
    }
    const updated: Record<string, unknown> = {};
    if (c.status !== previous.status) updated.status = c.status;
    if ((c.sessionStatus ?? null) !== previous.sessionStatus) updated.sessionStatus = c.sessionStatus ?? null;
    if ((c.result ?? null) !== previous.result) updated.result = c.result ?? null;
    if (c.name !== previous.name) updated.name = c.name;
    if (previous.status === 'PLANNED') {
      if (c.stageName !== previous.stageName) updated.stageName = c.stageName;
      if (startDate !== previous.startDate) updated.startDate = startDate;
      if (endDate !== previous.endDate) updated.endDate = endDate;
    }
    if (Object.keys(updated).length) changes.push({ type: 'CommunicationUpdated', data: { communicationId: previous.id, changes: updated } });
  });
  return changes;
}

/** ResultDatetime is the platform's: set whenever ResultFlag changes to true or false, null while undetermined. */
function withResultDatetime(before: JsonObject, after: JsonObject, now: Date): JsonObject {
  const flag = after.ResultFlag ?? null;
  const next: JsonObject = { ...after, ResultFlag: flag };
  if (flag === null) next.ResultDatetime = null;
  else if (flag !== (before.ResultFlag ?? null)) next.ResultDatetime = now.toISOString();
  else next.ResultDatetime = before.ResultDatetime ?? null;
  return next;
}

function isoOrThrow(value: unknown, field: string): string {
  const d = typeof value === 'string' ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime())) throw new InvalidContactError(field, `"${String(value)}" is not a date`);
  return d.toISOString();
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v ?? null;
}
