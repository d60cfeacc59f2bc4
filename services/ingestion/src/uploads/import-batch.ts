import {
  campaignStreamId, contactKeyOf, contactStreamId, deterministicEventId, newEvent, type ContactSnapshot, type ContactState, type Event,
  type RowError, type StrategiesApi,
} from '@herald/contracts';
import { readStreams, WrongExpectedRevisionError, type EventStore, type StreamAppend } from '@herald/event-store';
import { diffContact, evolve, InvalidContactError, rebuild, type ContactChange, type ContactDraft } from '@herald/contact-model';
import { evolve as evolveCampaign, type CampaignState } from '@herald/campaign-model';
import { type CampaignLogEntry } from '@herald/service-defaults';
import type { ValidRow } from './validate-row';

export interface BatchContext {
  store: EventStore;
  strategies: StrategiesApi;
  workspaceId: string;
  campaignId: string;
  uploadId: string;
  stages: string[];
  /**
   * The campaign as last read; brought up to date after each Data Load call
   * to name the strategy whose version ran (the strategies service returns
   * only the version).
   */
  campaign: CampaignState | null;
}

/** The Data Load strategy a batch ran: recorded in its events' metadata and its campaign log entries. */
export interface RanStrategy {
  id: string | null;
  name: string | null;
  version: number;
}

export interface BatchResult {
  imported: number;
  created: number;
  rejected: RowError[];
  log: CampaignLogEntry[];
}

const snapshot = (s: ContactState): ContactSnapshot => ({
  objectId: s.objectId, externalId: s.externalId, name: s.name, email: s.email, phone: s.phone, parameters: s.parameters,
  currentStage: s.currentStage, outcome: s.outcome, results: s.results, internalData: s.internalData, communications: s.communications,
  createdAt: s.createdAt,
});

/**
 * Imports valid rows: the Data Load strategy sees each row with the stored
 * contact of the same key; the difference is appended for all rows of the
 * batch at once. A key seen twice in a batch runs in a later round, so its
 * second occurrence sees the first as the existing contact. Event ids derive
 * from (upload, row): a batch re-run after a crash appends nothing twice.
 */
export async function importBatch(ctx: BatchContext, rows: readonly ValidRow[]): Promise<BatchResult> {
  const result: BatchResult = { imported: 0, created: 0, rejected: [], log: [] };
  for (const round of rounds(ctx.uploadId, rows)) await importRound(ctx, round, result, 0);
  return result;
}

function rounds(uploadId: string, rows: readonly ValidRow[]): ValidRow[][] {
  const out: ValidRow[][] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = keyOf(uploadId, row);
    const round = (seen.get(key) ?? -1) + 1;
    seen.set(key, round);
    (out[round] ??= []).push(row);
  }
  return out;
}

/** A row without object_id or external_id gets a key of its own: it never matches another row. */
export function rowKey(uploadId: string, row: ValidRow): string {
  return keyOf(uploadId, row);
}

function keyOf(uploadId: string, row: ValidRow): string {
  return contactKeyOf(row) ?? `r:${uploadId}-${row.row}`;
}

async function importRound(ctx: BatchContext, rows: ValidRow[], result: BatchResult, attempt: number): Promise<void> {
  const keys = rows.map((r) => keyOf(ctx.uploadId, r));
  const streams = await readStreams(ctx.store, keys.map((k) => contactStreamId(ctx.campaignId, k)));
  const histories = keys.map((k) => streams.get(contactStreamId(ctx.campaignId, k)) ?? []);
  // A row an earlier attempt already imported (a crash before its progress was saved) is counted, not run again.
  const done = rows.map((r, i) => alreadyImported(ctx.uploadId, r.row, histories[i]));
  if (done.some(Boolean)) {
    const remaining = rows.filter((_, i) => !done[i]);
    result.imported += rows.length - remaining.length;
    // A row whose own ContactCreated is stored created its contact then: the upload's counts (and the campaign's contact count) include it.
    const createdId = (row: number) => deterministicEventId(`${ctx.uploadId}:${row}`, 0);
    result.created += rows.filter((r, i) => done[i] && histories[i].some((e) => e.metadata.eventId === createdId(r.row))).length;
    if (!remaining.length) return;
    return importRound(ctx, remaining, result, attempt);
  }
  const existing = histories.map((h) => rebuild(h));
  const fresh = rows.map((r, i) => {
    const created = newEvent('ContactCreated', {
      campaignId: ctx.campaignId, key: keys[i], objectId: r.objectId, externalId: r.externalId, name: r.name, email: r.email, phone: r.phone,
      parameters: r.parameters, uploadId: ctx.uploadId, row: r.row,
    }, { workspaceId: ctx.workspaceId, correlationId: ctx.uploadId, eventId: deterministicEventId(`${ctx.uploadId}:${r.row}`, 0) });
    return { created, state: evolve(null, { ...created, revision: 0 } as never) };
  });
  const { strategyVersion, results } = await ctx.strategies.runDataLoad(ctx.workspaceId, ctx.campaignId, rows.map((_, i) => ({
    contact: snapshot(fresh[i].state),
    existing: existing[i] ? snapshot(existing[i]!) : null,
  })));

  const strategy = strategyVersion === null ? null : await ranStrategy(ctx, strategyVersion);
  // Which code and which upload of it produced the events, as on the Aggregation and Intermediate analysis hooks' events.
  const ran = strategy ? { strategyId: strategy.id, strategyVersion: strategy.version } : {};
  const about = strategy ? { strategyId: strategy.id, strategyName: strategy.name, strategyVersion: strategy.version } : {};
  const appends: StreamAppend[] = [];
  const accepted: number[] = [];
  rows.forEach((row, i) => {
    const where = { campaignId: ctx.campaignId, workspaceId: ctx.workspaceId, source: 'strategy:DATA_LOAD', contactKey: keys[i] };
    const details = { ...about, uploadId: ctx.uploadId, row: row.row };
    // Worded as the other hooks' errors (services/strategies/src/hooks/strategy-log.ts), with the row of the file.
    const failed = (error: string) => `${strategyLabel(strategy)} failed for contact ${keys[i]} (row ${row.row}); ${existing[i] ? 'the contact is unchanged' : 'the row is not imported'}: ${error}`;
    const outcome = results[i];
    for (const line of outcome.logs) result.log.push({ ...where, level: levelOf(line.level), message: line.message, details });
    if (!outcome.ok) {
      result.rejected.push({ row: row.row, field: null, message: `Data Load strategy failed: ${outcome.error}` });
      result.log.push({ ...where, level: 'ERROR', message: failed(outcome.error), details: { ...details, error: outcome.error, traceback: outcome.traceback ?? '' } });
      return;
    }
    const base = existing[i] ?? fresh[i].state;
    let changes: ContactChange[];
    try {
      changes = diffContact(base, outcome.contact as unknown as ContactDraft, {
        stages: ctx.stages, now: new Date(), newCommunicationId: (n) => deterministicEventId(`${ctx.uploadId}:${row.row}:communication`, n),
      });
    } catch (error) {
      if (!(error instanceof InvalidContactError)) throw error;
      result.rejected.push({ row: row.row, field: error.field, message: `Data Load strategy returned an invalid contact: ${error.message}` });
      const invalid = `InvalidContact: ${error.message}`;
      result.log.push({ ...where, level: 'ERROR', message: failed(invalid), details: { ...details, error: invalid, traceback: '', field: error.field } });
      return;
    }
    const events: Event[] = [
      ...(existing[i] ? [] : [{ ...fresh[i].created, metadata: { ...fresh[i].created.metadata, ...ran } }]),
      ...changes.map((c, n) => newEvent(c.type, c.data, {
        workspaceId: ctx.workspaceId, correlationId: ctx.uploadId, eventId: deterministicEventId(`${ctx.uploadId}:${row.row}`, n + 1), ...ran,
      })),
    ];
    // An existing contact the strategy left as it was still counts as imported (nothing to append).
    if (events.length) appends.push({ streamId: contactStreamId(ctx.campaignId, keys[i]), expectedRevision: existing[i] ? existing[i]!.revision : 'no_stream', events });
    accepted.push(i);
  });

  try {
    await ctx.store.appendMany(appends);
  } catch (error) {
    // A contact changed meanwhile (a running campaign's strategies): decide this round again.
    if (error instanceof WrongExpectedRevisionError && attempt < 5) {
      result.rejected = result.rejected.filter((r) => !rows.some((row) => row.row === r.row));
      return importRound(ctx, rows, result, attempt + 1);
    }
    throw error;
  }
  result.imported += accepted.length;
  result.created += accepted.filter((i) => !existing[i]).length;
}

function alreadyImported(uploadId: string, row: number, history: readonly { metadata: { eventId: string } }[]): boolean {
  if (!history.length) return false;
  const ids = new Set(history.map((e) => e.metadata.eventId));
  // Ids of this row's events are deterministicEventId('<upload>:<row>', n): ContactCreated is n = 0, changes follow.
  for (let n = 0; n <= Math.min(history.length, 64); n++) if (ids.has(deterministicEventId(`${uploadId}:${row}`, n))) return true;
  return false;
}

/**
 * The Data Load strategy of the version that ran, read from the campaign's
 * stream (only the events since the last read). If the file was replaced
 * again in the meantime, the strategy keeps its id; only its name may be newer.
 */
async function ranStrategy(ctx: BatchContext, version: number): Promise<RanStrategy> {
  const events = await ctx.store.readStream(campaignStreamId(ctx.campaignId), { fromRevision: ctx.campaign ? ctx.campaign.revision + 1 : 0 });
  const campaign = events.reduce<CampaignState | null>((s, e) => evolveCampaign(s, e), ctx.campaign);
  ctx.campaign = campaign;
  const loads = (campaign?.strategies ?? []).filter((s) => s.type === 'DATA_LOAD');
  const strategy = loads.find((s) => s.version === version) ?? loads[0];
  return { id: strategy?.id ?? null, name: strategy?.name ?? null, version };
}

function strategyLabel(strategy: RanStrategy | null): string {
  if (!strategy) return 'Data Load';
  return `Data Load strategy${strategy.name === null ? '' : ` "${strategy.name}"`} v${strategy.version}`;
}

function levelOf(level: string): CampaignLogEntry['level'] {
  const l = level.toUpperCase();
  return l === 'ERROR' || l === 'CRITICAL' ? 'ERROR' : l === 'WARNING' || l === 'WARN' ? 'WARNING' : l === 'DEBUG' ? 'DEBUG' : 'INFO';
}
