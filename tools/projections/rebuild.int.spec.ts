import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { contactStreamId, newEvent, type Event } from '@herald/contracts';
import { PostgresEventStore, type EventStore } from '@herald/event-store';
import { StoreBus, type StoreBusSubscription } from '@herald/bus';
import { startConsumer } from '@herald/service-defaults';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { PROJECTIONS } from './registry';
import { rebuildProjection } from './rebuild';

const WS = 'ws-rebuild';
const meta = () => ({ workspaceId: WS });
const OUTCOMES = ['SUCCESS', 'NEGATIVE', 'POSITIVE'] as const;

/** A campaign's configuration history. */
function campaignEvents(campaignId: string, i: number): Event[] {
  const stage = (n: number) => ({ id: randomUUID(), name: `${n} Step`, description: '', channel: 'email_notification', agent: null, settings: {} });
  return [
    newEvent('CampaignCreated', { campaignId, name: `Campaign ${i}`, description: `desc ${i}`, labels: [`l${i % 3}`] }, meta()),
    newEvent('StageAdded', { stage: stage(1) }, meta()),
    newEvent('StageAdded', { stage: stage(2) }, meta()),
    ...(i % 2 ? [newEvent('CampaignStarted', {}, meta())] : []),
    newEvent('CampaignDetailsChanged', { name: `Campaign ${i} renamed` }, meta()),
  ];
}

/** A contact's history: created, staged, planned, sometimes an outcome and a changed email. */
function contactEvents(campaignId: string, n: number): Event[] {
  const key = `o:${n}`;
  const events: Event[] = [
    newEvent('ContactCreated', { campaignId, key, objectId: String(n), externalId: `ext-${n}`, name: `Contact ${n}`, email: `c${n}@example.com`, phone: null, parameters: { amount: n }, uploadId: null, row: n }, meta()),
    newEvent('ContactStageChanged', { from: null, to: '1 Step' }, meta()),
    newEvent('CommunicationPlanned', { communication: { id: randomUUID(), name: 'mail', stageName: '1 Step', startDate: '2026-01-01T00:00:00.000Z', endDate: null } }, meta()),
  ];
  if (n % 3 === 0) events.push(newEvent('ContactOutcomeSet', { outcome: OUTCOMES[n % OUTCOMES.length], previous: 'UNCERTAIN' }, meta()));
  if (n % 4 === 0) events.push(newEvent('ContactDetailsChanged', { email: `new${n}@example.com` }, meta()));
  return events;
}

async function snapshot(db: TestDatabase): Promise<Record<string, unknown[]>> {
  const campaigns = await db.pool.query('select * from campaign_list order by campaign_id');
  const contacts = await db.pool.query('select * from contact_list order by campaign_id, contact_key');
  const performance = await db.pool.query('select * from campaign_performance_contacts order by campaign_id, contact_key');
  const counters = await db.pool.query('select * from campaign_performance_days order by campaign_id, day, dimension, value');
  return { campaign_list: campaigns.rows, contact_list: contacts.rows, campaign_performance_contacts: performance.rows, campaign_performance_days: counters.rows };
}

/** The performance counters agree with the contacts themselves (contact_list, another read model of the same events). */
async function assertCountersMatchContacts(db: TestDatabase): Promise<void> {
  const truth = await db.pool.query(`
    select campaign_id, 'outcome' as dimension, outcome as value, count(*)::int as n from contact_list group by 1, 2, 3
    union all select campaign_id, 'stage', coalesce(current_stage, ''), count(*)::int from contact_list group by 1, 2, 3
    order by 1, 2, 3`);
  const counted = await db.pool.query(`
    select campaign_id, dimension, value, sum(contacts)::int as n from campaign_performance_days group by 1, 2, 3 having sum(contacts) <> 0 order by 1, 2, 3`);
  assert.deepEqual(counted.rows, truth.rows);
}

describe('projections:rebuild', () => {
  let db: TestDatabase;
  let store: EventStore;
  let bus: StoreBus;
  const subs: StoreBusSubscription[] = [];
  const campaigns = Array.from({ length: 4 }, () => randomUUID());
  let nextContact = 0;

  const appendContacts = async (count: number) => {
    const appends = Array.from({ length: count }, () => {
      const n = nextContact++;
      const campaignId = campaigns[n % campaigns.length];
      return { streamId: contactStreamId(campaignId, `o:${n}`), expectedRevision: 'no_stream' as const, events: contactEvents(campaignId, n) };
    });
    await store.appendMany(appends);
  };
  const caughtUp = () => Promise.all(subs.map((s) => s.caughtUp()));

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    bus = new StoreBus(store, { batchSize: 200 });
    // The live read models, kept exactly as the services keep them.
    for (const def of PROJECTIONS) {
      await db.pool.query(def.schema);
      subs.push((await startConsumer(bus, db.pool, { group: def.group, topics: [...def.topics], project: def.project })) as StoreBusSubscription);
    }
    for (const [i, id] of campaigns.entries()) await store.append(`campaign-${id}`, campaignEvents(id, i), 'no_stream');
    await appendContacts(200);
    await caughtUp();
  });
  after(async () => {
    await bus?.close();
    await db?.drop();
  });

  it('rebuilds read models equal to the live ones, repairing a damaged table', async () => {
    const live = await snapshot(db);
    assert.equal(live.campaign_list.length, 4);
    assert.equal(live.contact_list.length, 200);
    // Damage the live tables: the rebuild must come from the log, not from them.
    await db.pool.query(`update contact_list set outcome = 'ERROR', communications = 99 where contact_key in ('o:3', 'o:7')`);
    await db.pool.query(`delete from campaign_list where campaign_id = $1`, [campaigns[0]]);
    await db.pool.query(`update campaign_performance_days set contacts = contacts + 5 where dimension = 'outcome'`);

    for (const def of PROJECTIONS) {
      const report = await rebuildProjection(db.pool, store, def, { concurrentWriters: true, batchSize: 97 });
      assert.ok(report.events > 0);
    }
    assert.deepEqual(await snapshot(db), live);
    await assertCountersMatchContacts(db);
    const { rows } = await db.pool.query(`select count(*)::int as n from herald_consumer_progress where consumer_group = 'ingestion.contact-list'`);
    assert.equal(rows[0].n, 200, 'one progress row per contact stream');
    const { rows: schemas } = await db.pool.query(`select nspname from pg_namespace where nspname like 'herald_rebuild_%'`);
    assert.deepEqual(schemas, []);
  });

  it('rebuilds while events keep arriving; live consumers go on from the swap without loss or double application', async () => {
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await appendContacts(10);
        // An existing contact changes too (its stream's later revisions).
        const n = Math.floor(Math.random() * 200);
        const stream = contactStreamId(campaigns[n % campaigns.length], `o:${n}`);
        const last = (await store.readStream(stream)).at(-1)!.revision;
        await store.append(stream, [
          newEvent('CommunicationPlanned', { communication: { id: randomUUID(), name: 'again', stageName: '2 Step', startDate: '2026-02-01T00:00:00.000Z', endDate: null } }, meta()),
          // It moves between stages and outcomes too (the performance counters' buckets).
          newEvent('ContactStageChanged', { from: null, to: n % 2 ? '2 Step' : '1 Step' }, meta()),
          newEvent('ContactOutcomeSet', { outcome: OUTCOMES[(n + last) % OUTCOMES.length], previous: 'UNCERTAIN' }, meta()),
        ], last);
        // Slower than a rebuild replays: otherwise each read model rebuilt in turn starts on a longer log than the one before.
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      for (const def of PROJECTIONS) await rebuildProjection(db.pool, store, def, { concurrentWriters: true, batchSize: 50 });
      await appendContacts(10);
    } finally {
      writing = false;
      await writer;
    }
    await appendContacts(5);
    await caughtUp();
    const afterLive = await snapshot(db);
    assert.equal(afterLive.contact_list.length, nextContact);

    // The reference: a quiet rebuild of the same log.
    for (const def of PROJECTIONS) await rebuildProjection(db.pool, store, def, { concurrentWriters: true });
    assert.deepEqual(await snapshot(db), afterLive);
    await assertCountersMatchContacts(db);
    // Communications counted once each: the table agrees with the streams themselves.
    const { rows } = await db.pool.query<{ n: number }>(
      `select sum(communications)::int as n from contact_list`,
    );
    const { rows: planned } = await db.pool.query<{ n: number }>(`select count(*)::int as n from herald_events where type = 'CommunicationPlanned'`);
    assert.equal(rows[0].n, planned[0].n);
  });
});
