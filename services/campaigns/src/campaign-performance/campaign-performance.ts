import type { Pool, PoolClient } from 'pg';
import {
  invalid, OUTCOMES, PERFORMANCE_PERIODS, type CampaignPerformanceView, type Outcome, type PerformancePeriod, type RecordedEvent,
} from '@herald/contracts';
import type { ContactEvent } from '@herald/contact-model';
import { tenantQuery } from '@herald/service-defaults';

/**
 * Read model answering "how is this campaign performing?" (the performance
 * panel, docs/analytics.md). Counters per campaign, per UTC day of a
 * contact's creation, per dimension (stage, outcome) and value: how many of
 * that day's contacts are there now. The per-contact row remembers the
 * buckets a contact is counted in, so that a change moves it from one to the
 * other in the same transaction. Reads sum the days: O(periods x values).
 */
export const CAMPAIGN_PERFORMANCE_SCHEMA = `
create table if not exists campaign_performance_contacts (
  campaign_id  text not null,
  contact_key  text not null,
  workspace_id text not null,
  day          date not null,
  stage        text not null,
  outcome      text not null,
  primary key (campaign_id, contact_key)
);
create table if not exists campaign_performance_days (
  campaign_id  text not null,
  workspace_id text not null,
  day          date not null,
  dimension    text not null,
  value        text not null,
  contacts     integer not null,
  primary key (campaign_id, day, dimension, value)
);
`;

export const CAMPAIGN_PERFORMANCE_TABLES = ['campaign_performance_contacts', 'campaign_performance_days'] as const;

/** The contact events that move a contact between buckets; the others change nothing here. */
export const CAMPAIGN_PERFORMANCE_EVENTS = ['ContactCreated', 'ContactStageChanged', 'ContactOutcomeSet'] as const;

/** Outcomes that end a contact's journey (completion rate). */
export const FINAL_OUTCOMES: readonly Outcome[] = ['SUCCESS', 'NEGATIVE', 'ERROR'];

/** Stage value of a contact without a stage (stage names are never empty). */
const NO_STAGE = '';

type Dimension = 'stage' | 'outcome';

/**
 * A campaign's counters are rows that every consumer replica writes. Each
 * statement below takes this transaction lock before any counter row (a
 * counter row is only reached through the lock's row in the join), so one
 * transaction at a time holds them and batches touching them in different
 * orders cannot deadlock. Per schema: a rebuild's shadow tables do not wait
 * for the live ones.
 */
const COUNTERS_LOCK = `(select pg_advisory_xact_lock(hashtext('herald:campaign-performance:' || current_schema()))) as counters_lock`;
const ADD = 'on conflict (campaign_id, day, dimension, value) do update set contacts = campaign_performance_days.contacts + excluded.contacts';

export async function projectCampaignPerformance(recorded: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
  const event = recorded as RecordedEvent<ContactEvent>;
  switch (event.type) {
    case 'ContactCreated': {
      // Counted once: no stage, UNCERTAIN, on the UTC day of its creation.
      const day = new Date(event.metadata.timestamp).toISOString().slice(0, 10);
      await client.query(
        `with contact as (
           insert into campaign_performance_contacts (campaign_id, contact_key, workspace_id, day, stage, outcome)
           values ($1, $2, $3, $4::date, '${NO_STAGE}', 'UNCERTAIN') on conflict do nothing returning day
         )
         insert into campaign_performance_days (campaign_id, workspace_id, day, dimension, value, contacts)
         select $1, $3, contact.day, t.dimension, t.value, 1
           from contact, ${COUNTERS_LOCK}, (values ('outcome', 'UNCERTAIN'), ('stage', '${NO_STAGE}')) as t(dimension, value)
         ${ADD}`,
        [event.data.campaignId, event.data.key, event.metadata.workspaceId, day],
      );
      return;
    }
    case 'ContactStageChanged':
      return move(client, event.streamId, 'stage', event.data.to ?? NO_STAGE);
    case 'ContactOutcomeSet':
      return move(client, event.streamId, 'outcome', event.data.outcome);
    default:
      return;
  }
}

/**
 * projectCampaignPerformance for a batch: the contacts created in the batch,
 * with the stage and outcome they reached later in the batch, are inserted
 * together and counted with one statement (the counters get the rows, zeros
 * included, that creating and then moving each contact would leave); events
 * of other contacts go one by one. A created contact whose row already
 * exists gets its moves one by one, as projectCampaignPerformance would.
 */
export async function projectCampaignPerformanceMany(items: readonly { event: RecordedEvent; topic: string }[], client: PoolClient): Promise<void> {
  interface Fresh {
    row: { campaign_id: string; contact_key: string; workspace_id: string; day: string; stage: string; outcome: string; stages: string[]; outcomes: string[] };
    after: RecordedEvent[];
  }
  const created = new Map<string, Fresh>();
  for (const { event: recorded, topic } of items) {
    const event = recorded as RecordedEvent<ContactEvent>;
    const fresh = created.get(event.streamId);
    if (event.type === 'ContactCreated') {
      if (!fresh) {
        created.set(event.streamId, {
          row: { campaign_id: event.data.campaignId, contact_key: event.data.key, workspace_id: event.metadata.workspaceId,
            day: new Date(event.metadata.timestamp).toISOString().slice(0, 10), stage: NO_STAGE, outcome: 'UNCERTAIN', stages: [NO_STAGE], outcomes: ['UNCERTAIN'] },
          after: [],
        });
      }
      continue;
    }
    if (!fresh) await projectCampaignPerformance(event, topic, client);
    else if (event.type === 'ContactStageChanged' || event.type === 'ContactOutcomeSet') {
      // Every bucket the contact passes through keeps a row (at zero once it moved on), as one move after another leaves.
      if (event.type === 'ContactStageChanged') fresh.row.stages.push(fresh.row.stage = event.data.to ?? NO_STAGE);
      else fresh.row.outcomes.push(fresh.row.outcome = event.data.outcome);
      fresh.after.push(event);
    }
  }
  if (!created.size) return;
  const { rows } = await client.query<{ campaign_id: string; contact_key: string }>(
    `with input as (
       select * from jsonb_to_recordset($1::jsonb)
         as t(campaign_id text, contact_key text, workspace_id text, day date, stage text, outcome text, stages jsonb, outcomes jsonb)
     ), contact as (
       insert into campaign_performance_contacts (campaign_id, contact_key, workspace_id, day, stage, outcome)
       select campaign_id, contact_key, workspace_id, day, stage, outcome from input
       on conflict do nothing returning campaign_id, contact_key
     ), counted as (
       insert into campaign_performance_days (campaign_id, workspace_id, day, dimension, value, contacts)
       select i.campaign_id, i.workspace_id, i.day, t.dimension, t.value, sum(t.contacts)
         from contact c join input i using (campaign_id, contact_key), ${COUNTERS_LOCK},
              lateral (select 'stage'::text, v, 0 from jsonb_array_elements_text(i.stages) as v
                       union all select 'outcome'::text, v, 0 from jsonb_array_elements_text(i.outcomes) as v
                       union all values ('stage'::text, i.stage, 1), ('outcome'::text, i.outcome, 1)) as t(dimension, value, contacts)
        group by 1, 2, 3, 4, 5
       ${ADD}
     )
     select campaign_id, contact_key from contact`,
    [JSON.stringify([...created.values()].map((c) => c.row))],
  );
  const inserted = new Set(rows.map((r) => `${r.campaign_id}\u0000${r.contact_key}`));
  for (const { row, after } of created.values()) {
    if (inserted.has(`${row.campaign_id}\u0000${row.contact_key}`)) continue;
    for (const event of after) await projectCampaignPerformance(event, '', client);
  }
}

/**
 * Moves the contact to `to` in one dimension: out of the bucket its row names
 * (not the event's `previous`), so counters and rows always agree.
 */
async function move(client: PoolClient, streamId: string, dimension: Dimension, to: string): Promise<void> {
  const [campaignId, key] = splitStreamId(streamId);
  await client.query(
    `with old as (
       select workspace_id, day, ${dimension} as value from campaign_performance_contacts
        where campaign_id = $1 and contact_key = $2 and ${dimension} <> $3 for update
     ), moved as (
       update campaign_performance_contacts c set ${dimension} = $3 from old
        where c.campaign_id = $1 and c.contact_key = $2 returning old.workspace_id, old.day, old.value
     )
     insert into campaign_performance_days (campaign_id, workspace_id, day, dimension, value, contacts)
     select $1, moved.workspace_id, moved.day, '${dimension}', t.value, t.contacts
       from moved, ${COUNTERS_LOCK}, lateral (values (moved.value, -1), ($3::text, 1)) as t(value, contacts)
     ${ADD}`,
    [campaignId, key, to],
  );
}

/** 'contact-<campaignId>-<key>' → [campaignId, key] (campaign ids are UUIDs: 36 characters). */
function splitStreamId(streamId: string): [string, string] {
  const rest = streamId.slice('contact-'.length);
  return [rest.slice(0, 36), rest.slice(37)];
}

export function checkPeriod(period: unknown): PerformancePeriod {
  if (!(PERFORMANCE_PERIODS as readonly unknown[]).includes(period)) throw invalid('period', `must be one of ${PERFORMANCE_PERIODS.join(', ')}`);
  return period as PerformancePeriod;
}

/** The panel's numbers for one campaign of the workspace (the caller checks that the campaign exists). */
export async function queryCampaignPerformance(pool: Pool, workspaceId: string, campaignId: string, period: PerformancePeriod): Promise<CampaignPerformanceView> {
  checkPeriod(period);
  // date_trunc on a timestamp without time zone: weeks start on Monday (ISO), the session's time zone plays no part.
  const { rows } = await tenantQuery<{ period: string; dimension: Dimension; value: string; contacts: number }>(
    pool, workspaceId,
    `select to_char(date_trunc($2, day::timestamp), 'YYYY-MM-DD') as period, dimension, value, sum(contacts)::int as contacts
       from campaign_performance_days where campaign_id = $1 and contacts <> 0
      group by 1, 2, 3`,
    [campaignId, period],
  );
  const periods = [...new Set(rows.map((r) => r.period))].sort();
  const index = new Map(periods.map((p, i) => [p, i]));
  const series = (dimension: Dimension) => {
    const byValue = new Map<string, number[]>();
    for (const r of rows) {
      if (r.dimension !== dimension) continue;
      let values = byValue.get(r.value);
      if (!values) byValue.set(r.value, (values = periods.map(() => 0)));
      values[index.get(r.period)!] += r.contacts;
    }
    return byValue;
  };
  const stages = [...series('stage')].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([value, contacts]) => ({ stage: value === NO_STAGE ? null : value, contacts }));
  const byOutcome = series('outcome');
  const outcomes = OUTCOMES.filter((o) => byOutcome.has(o)).map((outcome) => ({ outcome, contacts: byOutcome.get(outcome)! }));
  const total = (filter: (o: Outcome) => boolean) => outcomes.filter((s) => filter(s.outcome)).reduce((n, s) => n + s.contacts.reduce((a, b) => a + b, 0), 0);
  const totalContacts = total(() => true);
  const processedContacts = total((o) => o !== 'UNCERTAIN');
  const completedContacts = total((o) => FINAL_OUTCOMES.includes(o));
  const successfulContacts = total((o) => o === 'SUCCESS');
  return {
    campaignId, period, totalContacts, processedContacts, completedContacts, successfulContacts,
    completionRate: totalContacts ? completedContacts / totalContacts : null,
    successRate: processedContacts ? successfulContacts / processedContacts : null,
    periods, stages, outcomes,
  };
}
