import type { Pool, PoolClient } from 'pg';
import { DomainError, invalid, OUTCOMES, type ContactPage, type ContactSummary, type RecordedEvent } from '@herald/contracts';
import type { ContactEvent } from '@herald/contact-model';

/** Read model answering "which contacts does this campaign have?" (the Contacts tab, its filters and Download contacts). */
/** The consumer group that keeps the contacts list (its progress says how far the list has read). */
export const CONTACT_LIST_GROUP = 'ingestion.contact-list';

export const CONTACT_LIST_SCHEMA = `
create table if not exists contact_list (
  campaign_id    text not null,
  contact_key    text not null,
  workspace_id   text not null,
  name           text,
  email          text,
  phone          text,
  external_id    text,
  current_stage  text,
  outcome        text not null,
  communications integer not null default 0,
  parameters     jsonb not null default '{}',
  results        jsonb not null default '{}',
  created_at     timestamptz not null,
  primary key (campaign_id, contact_key)
);
alter table contact_list add column if not exists parameters jsonb not null default '{}';
alter table contact_list add column if not exists results jsonb not null default '{}';
drop index if exists contact_list_created;
create index if not exists contact_list_created_key on contact_list (campaign_id, created_at, contact_key);
create index if not exists contact_list_outcome on contact_list (campaign_id, outcome, contact_key);
`;

/**
 * Trigram indexes make "contains" filters fast on large campaigns. PostgreSQL
 * has pg_trgm in contrib; where the extension is missing (the embedded
 * database) the filters still work, by scanning.
 */
export async function ensureContactListIndexes(pool: Pool): Promise<boolean> {
  try {
    await pool.query('create extension if not exists pg_trgm');
    // With btree_gin (contrib too), the name index carries the campaign and the outcome: one index scan
    // answers "outcome X and name contains Y" in a campaign, where two indexes would be ANDed.
    const combined = await pool.query('create extension if not exists btree_gin').then(() => true, () => false);
    if (combined) {
      await pool.query(`create index if not exists contact_list_name_outcome_trgm on contact_list using gin (campaign_id, outcome, lower(name) gin_trgm_ops);
        drop index if exists contact_list_name_trgm`);
    } else await pool.query('create index if not exists contact_list_name_trgm on contact_list using gin (lower(name) gin_trgm_ops)');
    await pool.query(`
      create index if not exists contact_list_email_trgm on contact_list using gin (lower(email) gin_trgm_ops);
      create index if not exists contact_list_phone_trgm on contact_list using gin (phone gin_trgm_ops);
      create index if not exists contact_list_external_trgm on contact_list using gin (lower(external_id) gin_trgm_ops);
    `);
    return true;
  } catch {
    return false;
  }
}

const DETAIL_COLUMNS = { name: 'name', email: 'email', phone: 'phone', externalId: 'external_id' } as const;
const JSON_COLUMNS = new Set(['parameters', 'results']);

/** What an event (other than ContactCreated) changes in its contact's row: columns to set, or one more communication. */
function changeOf(event: RecordedEvent<ContactEvent>): { columns: Record<string, unknown>; planned?: true } | null {
  switch (event.type) {
    case 'ContactDetailsChanged': {
      const sets = Object.entries(event.data).filter(([k]) => k in DETAIL_COLUMNS);
      return sets.length ? { columns: Object.fromEntries(sets.map(([k, v]) => [DETAIL_COLUMNS[k as keyof typeof DETAIL_COLUMNS], v])) } : null;
    }
    case 'ContactParametersChanged':
      return { columns: { parameters: event.data.parameters } };
    case 'ContactResultsChanged':
      return { columns: { results: event.data.results } };
    case 'ContactStageChanged':
      return { columns: { current_stage: event.data.to } };
    case 'ContactOutcomeSet':
      return { columns: { outcome: event.data.outcome } };
    case 'CommunicationPlanned':
      return { columns: {}, planned: true };
    default:
      return null;
  }
}

/** The row a ContactCreated makes. */
function createdRow(event: RecordedEvent<Extract<ContactEvent, { type: 'ContactCreated' }>>): Record<string, unknown> {
  const d = event.data;
  return {
    campaign_id: d.campaignId, contact_key: d.key, workspace_id: event.metadata.workspaceId, name: d.name, email: d.email, phone: d.phone,
    external_id: d.externalId, current_stage: null, outcome: 'UNCERTAIN', communications: 0, parameters: d.parameters ?? {},
    results: { ResultFlag: null, ResultDatetime: null }, created_at: event.metadata.timestamp,
  };
}

export async function projectContactList(recorded: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
  const event = recorded as RecordedEvent<ContactEvent>;
  if (event.type === 'ContactCreated') {
    const r = createdRow(event);
    await client.query(
      `insert into contact_list (campaign_id, contact_key, workspace_id, name, email, phone, external_id, outcome, parameters, results, created_at)
       values ($1, $2, $3, $4, $5, $6, $7, 'UNCERTAIN', $8, $9, $10) on conflict do nothing`,
      [r.campaign_id, r.contact_key, r.workspace_id, r.name, r.email, r.phone, r.external_id, JSON.stringify(r.parameters), JSON.stringify(r.results), r.created_at],
    );
    return;
  }
  const change = changeOf(event);
  if (!change) return;
  const columns = Object.entries(change.columns);
  const set = change.planned ? 'communications = communications + 1' : columns.map(([c], i) => `${c} = $${i + 3}`).join(', ');
  await client.query(`update contact_list set ${set} where campaign_id = $1 and contact_key = $2`,
    [...splitStreamId(event.streamId), ...columns.map(([c, v]) => (JSON_COLUMNS.has(c) ? JSON.stringify(v) : v))]);
}

/**
 * projectContactList for a batch, in a few statements: the contacts created
 * in the batch are inserted together, with the changes that follow their
 * creation in the batch already applied (an upload's ContactCreated,
 * CommunicationPlanned and ContactStageChanged make one row); events of
 * other contacts go one by one. A created contact whose row already exists
 * (inserted by an earlier delivery) gets its changes one by one, as
 * projectContactList would have applied them.
 */
export async function projectContactListMany(items: readonly { event: RecordedEvent; topic: string }[], client: PoolClient): Promise<void> {
  const created = new Map<string, { row: Record<string, unknown>; after: RecordedEvent[] }>();
  for (const { event: recorded, topic } of items) {
    const event = recorded as RecordedEvent<ContactEvent>;
    const fresh = created.get(event.streamId);
    if (event.type === 'ContactCreated') {
      // A second ContactCreated of a stream inserts nothing (on conflict do nothing).
      if (!fresh) created.set(event.streamId, { row: createdRow(event), after: [] });
      continue;
    }
    if (!fresh) {
      await projectContactList(event, topic, client);
      continue;
    }
    const change = changeOf(event);
    if (!change) continue;
    Object.assign(fresh.row, change.columns);
    if (change.planned) fresh.row.communications = (fresh.row.communications as number) + 1;
    fresh.after.push(event);
  }
  if (!created.size) return;
  const { rows } = await client.query<{ campaign_id: string; contact_key: string }>(
    `insert into contact_list (campaign_id, contact_key, workspace_id, name, email, phone, external_id, current_stage, outcome, communications, parameters, results, created_at)
     select * from jsonb_to_recordset($1::jsonb) as t(campaign_id text, contact_key text, workspace_id text, name text, email text, phone text,
       external_id text, current_stage text, outcome text, communications integer, parameters jsonb, results jsonb, created_at timestamptz)
     on conflict do nothing returning campaign_id, contact_key`,
    [JSON.stringify([...created.values()].map((c) => c.row))],
  );
  const inserted = new Set(rows.map((r) => `${r.campaign_id}\u0000${r.contact_key}`));
  for (const { row, after } of created.values()) {
    if (inserted.has(`${row.campaign_id}\u0000${row.contact_key}`)) continue;
    for (const event of after) await projectContactList(event, '', client);
  }
}

/** 'contact-<campaignId>-<key>' → [campaignId, key] (campaign ids are UUIDs: 36 characters). */
function splitStreamId(streamId: string): [string, string] {
  const rest = streamId.slice('contact-'.length);
  return [rest.slice(0, 36), rest.slice(37)];
}

const like = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function date(field: string, value: string | undefined): Date | null {
  if (value === undefined || value === '') return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw invalid(field, `"${value}" is not a date (ISO-8601, e.g. 2026-11-01 or 2026-11-01T09:00:00Z)`);
  return d;
}

/** Rows an ordered walk reads before a filtered page gives up on it (see pageOf). */
const WALK_BUDGET = 2000;

/**
 * One page: `where` (workspace, campaign, cursor, creation range: what the order's index walks) and
 * `filters` (contains, outcome). Without filters, the index walk in list order. With filters, the
 * walk is the best plan when they match often (the page fills after a few rows) and the worst when
 * they match seldom or never (it reads the whole campaign or range), and PostgreSQL cannot tell the
 * two apart when filters are correlated. So the walk runs first over at most WALK_BUDGET rows; when
 * that does not fill the page, the same query runs with the order written so that no index can
 * serve it, and PostgreSQL takes the filters' own indexes (trigram, outcome) and sorts what they
 * found. Both orders are the same (`+ interval '0'` and `|| ''` change no value or collation).
 */
async function pageOf(pool: Pool, where: string[], filters: string[], params: unknown[], byCreation: boolean,
  limit: number): Promise<Record<string, any>[]> {
  const order = byCreation ? 'created_at, contact_key' : 'contact_key';
  const select = `select *, (extract(epoch from created_at) * 1000000)::bigint::text as created_us from contact_list`;
  const n = params.length + 1;
  // The system scope, with the workspace in the where clause: below row-level security PostgreSQL may not use the
  // trigram indexes for LIKE (not leakproof), and Contact Filters over a million contacts would scan them all (docs/security.md).
  if (!filters.length) return (await pool.query(`${select} where ${where.join(' and ')} order by ${order} limit $${n}`, [...params, limit + 1])).rows;
  const walked = await pool.query(
    `select * from (${select} where ${where.join(' and ')} order by ${order} limit $${n + 1}) walk
      where ${filters.join(' and ')} order by ${order} limit $${n}`, [...params, limit + 1, WALK_BUDGET]);
  if (walked.rows.length > limit) return walked.rows;
  const unindexed = byCreation ? `created_at + interval '0', contact_key || ''` : `contact_key || ''`;
  return (await pool.query(`${select} where ${[...where, ...filters].join(' and ')} order by ${unindexed} limit $${n}`, [...params, limit + 1])).rows;
}

/**
 * One page of the list, in key order, or with a creation-date filter in
 * creation order (then key): the date range is then one index range walked
 * in order, where key order would have to pass over every contact created
 * outside it. Cursor paging: Load More passes `next` as `after` (a key, or
 * `t:<microseconds since 1970>:<key>` in creation order; opaque to callers).
 */
export async function listContacts(pool: Pool, workspaceId: string, campaignId: string, page: ContactPage): Promise<{ items: ContactSummary[]; next: string | null }> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 500);
  const from = date('createdFrom', page.createdFrom);
  const to = date('createdTo', page.createdTo);
  if (from && to && from >= to) throw new DomainError('invalid', 'createdTo: must be after createdFrom', 'createdTo');
  const byCreation = Boolean(from || to);
  const params: unknown[] = [workspaceId, campaignId];
  const where = ['workspace_id = $1', 'campaign_id = $2'];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  const cursor = page.after ?? '';
  if (byCreation && cursor) {
    const m = /^t:(\d{1,19}):(.*)$/s.exec(cursor);
    if (!m) throw invalid('after', 'is not a cursor of this list (pass the `next` of the previous page with the same filters)');
    params.push(m[1], m[2]);
    where.push(`(created_at, contact_key) > (timestamptz 'epoch' + $${params.length - 1}::bigint * interval '1 microsecond', $${params.length})`);
  } else if (cursor) add((n) => `contact_key > $${n}`, cursor);
  const keyed = where.length;
  if (page.name) add((n) => `lower(name) like $${n}`, like(page.name));
  if (page.email) add((n) => `lower(email) like $${n}`, like(page.email));
  if (page.phone) add((n) => `phone like $${n}`, like(page.phone));
  if (page.externalId) add((n) => `lower(external_id) like $${n}`, like(page.externalId));
  if (page.outcome) {
    if (!OUTCOMES.includes(page.outcome)) throw invalid('outcome', `must be one of ${OUTCOMES.join(', ')}`);
    add((n) => `outcome = $${n}`, page.outcome);
  }
  const filters = where.splice(keyed);
  if (from) add((n) => `created_at >= $${n}`, from);
  if (to) add((n) => `created_at < $${n}`, to);
  const rows = await pageOf(pool, where, filters, params, byCreation, limit);
  const items: ContactSummary[] = rows.slice(0, limit).map((r) => ({
    key: r.contact_key, name: r.name, email: r.email, phone: r.phone, externalId: r.external_id, currentStage: r.current_stage,
    outcome: r.outcome, communications: r.communications, createdAt: new Date(r.created_at).toISOString(),
    parameters: r.parameters ?? {}, results: r.results ?? {},
  }));
  const last = rows.length > limit ? rows[limit - 1] : null;
  return { items, next: last ? (byCreation ? `t:${last.created_us}:${last.contact_key}` : last.contact_key) : null };
}
