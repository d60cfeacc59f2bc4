import type { Pool, PoolClient } from 'pg';
import { DomainError, invalid, OUTCOMES, type ContactPage, type ContactSummary, type RecordedEvent } from '@herald/contracts';
import type { ContactEvent } from '@herald/contact-model';

/** Read model answering "which contacts does this campaign have?" (the Contacts tab, its filters and Download contacts). */
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
create index if not exists contact_list_created on contact_list (campaign_id, created_at);
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
    await pool.query(`
      create index if not exists contact_list_name_trgm on contact_list using gin (lower(name) gin_trgm_ops);
      create index if not exists contact_list_email_trgm on contact_list using gin (lower(email) gin_trgm_ops);
      create index if not exists contact_list_phone_trgm on contact_list using gin (phone gin_trgm_ops);
      create index if not exists contact_list_external_trgm on contact_list using gin (lower(external_id) gin_trgm_ops);
    `);
    return true;
  } catch {
    return false;
  }
}

export async function projectContactList(recorded: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
  const event = recorded as RecordedEvent<ContactEvent>;
  let set: string;
  let values: unknown[] = [];
  switch (event.type) {
    case 'ContactCreated': {
      const d = event.data;
      await client.query(
        `insert into contact_list (campaign_id, contact_key, workspace_id, name, email, phone, external_id, outcome, parameters, results, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'UNCERTAIN', $8, $9, $10) on conflict do nothing`,
        [d.campaignId, d.key, event.metadata.workspaceId, d.name, d.email, d.phone, d.externalId, JSON.stringify(d.parameters ?? {}),
          JSON.stringify({ ResultFlag: null, ResultDatetime: null }), event.metadata.timestamp],
      );
      return;
    }
    case 'ContactDetailsChanged': {
      const cols = { name: 'name', email: 'email', phone: 'phone', externalId: 'external_id' } as const;
      const sets = Object.entries(event.data).filter(([k]) => k in cols);
      if (!sets.length) return;
      set = sets.map(([k], i) => `${cols[k as keyof typeof cols]} = $${i + 3}`).join(', ');
      values = sets.map(([, v]) => v);
      break;
    }
    case 'ContactParametersChanged':
      set = 'parameters = $3';
      values = [JSON.stringify(event.data.parameters)];
      break;
    case 'ContactResultsChanged':
      set = 'results = $3';
      values = [JSON.stringify(event.data.results)];
      break;
    case 'ContactStageChanged':
      set = 'current_stage = $3';
      values = [event.data.to];
      break;
    case 'ContactOutcomeSet':
      set = 'outcome = $3';
      values = [event.data.outcome];
      break;
    case 'CommunicationPlanned':
      set = 'communications = communications + 1';
      break;
    default:
      return;
  }
  await client.query(`update contact_list set ${set} where campaign_id = $1 and contact_key = $2`, [...splitStreamId(event.streamId), ...values]);
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

/** One page of the list, in key order (cursor paging: Load More passes `next` as `after`). */
export async function listContacts(pool: Pool, workspaceId: string, campaignId: string, page: ContactPage): Promise<{ items: ContactSummary[]; next: string | null }> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 500);
  const params: unknown[] = [workspaceId, campaignId, page.after ?? ''];
  const where = ['workspace_id = $1', 'campaign_id = $2', 'contact_key > $3'];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (page.name) add((n) => `lower(name) like $${n}`, like(page.name));
  if (page.email) add((n) => `lower(email) like $${n}`, like(page.email));
  if (page.phone) add((n) => `phone like $${n}`, like(page.phone));
  if (page.externalId) add((n) => `lower(external_id) like $${n}`, like(page.externalId));
  if (page.outcome) {
    if (!OUTCOMES.includes(page.outcome)) throw invalid('outcome', `must be one of ${OUTCOMES.join(', ')}`);
    add((n) => `outcome = $${n}`, page.outcome);
  }
  const from = date('createdFrom', page.createdFrom);
  const to = date('createdTo', page.createdTo);
  if (from) add((n) => `created_at >= $${n}`, from);
  if (to) add((n) => `created_at < $${n}`, to);
  if (from && to && from >= to) throw new DomainError('invalid', 'createdTo: must be after createdFrom', 'createdTo');
  params.push(limit + 1);
  // The system scope, with the workspace in the where clause: below row-level security PostgreSQL may not use the
  // trigram indexes for LIKE (not leakproof), and Contact Filters over a million contacts would scan them all (docs/security.md).
  const { rows } = await pool.query(`select * from contact_list where ${where.join(' and ')} order by contact_key limit $${params.length}`, params);
  const items: ContactSummary[] = rows.slice(0, limit).map((r) => ({
    key: r.contact_key, name: r.name, email: r.email, phone: r.phone, externalId: r.external_id, currentStage: r.current_stage,
    outcome: r.outcome, communications: r.communications, createdAt: new Date(r.created_at).toISOString(),
    parameters: r.parameters ?? {}, results: r.results ?? {},
  }));
  return { items, next: rows.length > limit ? items[items.length - 1].key : null };
}
