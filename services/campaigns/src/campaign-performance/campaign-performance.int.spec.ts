import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { contactStreamId, DomainError, newEvent, TOPICS, type Event, type Outcome, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore, type EventStore } from '@herald/event-store';
import { idempotentBatchProjection, StoreBus, type StoreBusSubscription } from '@herald/bus';
import { secureTenantTables, startConsumer } from '@herald/service-defaults';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { CAMPAIGN_PERFORMANCE_EVENTS, CAMPAIGN_PERFORMANCE_SCHEMA, projectCampaignPerformance, projectCampaignPerformanceMany, queryCampaignPerformance } from './campaign-performance';

const WS = 'ws-perf';
const GROUP = 'campaigns.campaign-performance';
const at = (timestamp: string) => ({ workspaceId: WS, timestamp });
const created = (campaignId: string, key: string, timestamp: string, workspaceId = WS): Event =>
  newEvent('ContactCreated', { campaignId, key, objectId: key, externalId: null, name: key, email: `${key}@example.com`, phone: null, parameters: {}, uploadId: null, row: null }, { workspaceId, timestamp });
const stage = (from: string | null, to: string | null, timestamp: string) => newEvent('ContactStageChanged', { from, to }, at(timestamp));
const outcome = (value: Outcome, previous: Outcome, timestamp: string) => newEvent('ContactOutcomeSet', { outcome: value, previous }, at(timestamp));

describe('campaign-performance read model', () => {
  let db: TestDatabase;
  let store: EventStore;
  let bus: StoreBus;
  let live: StoreBusSubscription;
  const campaign = randomUUID();
  const other = randomUUID();
  const stream = (key: string) => contactStreamId(campaign, key);

  const counters = async () => (await db.pool.query(
    `select to_char(day, 'YYYY-MM-DD') as day, dimension, value, contacts from campaign_performance_days where campaign_id = $1 and contacts <> 0 order by 1, 2, 3`,
    [campaign],
  )).rows.map((r) => `${r.day} ${r.dimension}=${r.value || '(none)'}: ${r.contacts}`);
  const everything = async () => ({
    contacts: (await db.pool.query('select * from campaign_performance_contacts order by campaign_id, contact_key')).rows,
    days: (await db.pool.query('select * from campaign_performance_days order by campaign_id, day, dimension, value')).rows,
  });

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    bus = new StoreBus(store, { batchSize: 50 });
    await db.pool.query(CAMPAIGN_PERFORMANCE_SCHEMA);
    await secureTenantTables(db.pool);
    // The live read model, subscribed as campaigns.workers.ts subscribes it.
    live = (await startConsumer(bus, db.pool, {
      group: GROUP, topics: [TOPICS.contactEvents], types: CAMPAIGN_PERFORMANCE_EVENTS, project: projectCampaignPerformance, projectMany: projectCampaignPerformanceMany,
    })) as StoreBusSubscription;
  });
  after(async () => {
    await bus?.close();
    await db?.drop();
  });

  it('counts each contact once per dimension, on the UTC day of its creation; a change moves it from one bucket to another', async () => {
    // k1 on a Sunday just before midnight UTC, k2 the Monday after (another ISO week), k3 the Saturday before (another month).
    await store.append(stream('k1'), [created(campaign, 'k1', '2026-03-01T23:30:00.000Z'), stage(null, '1 Reminder', '2026-03-02T09:00:00.000Z'), outcome('POSITIVE', 'UNCERTAIN', '2026-03-03T10:00:00.000Z')], 'no_stream');
    await store.append(stream('k2'), [created(campaign, 'k2', '2026-03-02T00:10:00.000Z'), stage(null, '1 Reminder', '2026-03-02T00:10:00.000Z')], 'no_stream');
    await store.append(stream('k3'), [created(campaign, 'k3', '2026-02-28T12:00:00.000Z'), stage(null, '1 Reminder', '2026-02-28T12:00:00.000Z'), outcome('POSITIVE', 'UNCERTAIN', '2026-03-05T12:00:00.000Z')], 'no_stream');
    await store.append(stream('k4'), [
      created(campaign, 'k4', '2026-03-02T08:00:00.000Z'),
      // Events that move nothing here.
      newEvent('ContactDetailsChanged', { name: 'Kay' }, at('2026-03-02T08:00:00.000Z')),
      newEvent('CommunicationPlanned', { communication: { id: randomUUID(), name: 'mail', stageName: '1 Reminder', startDate: '2026-03-02T08:00:00.000Z', endDate: null } }, at('2026-03-02T08:00:00.000Z')),
    ], 'no_stream');
    // Another workspace's campaign: counted apart, never shown to this one.
    await store.append(contactStreamId(other, 'x1'), [created(other, 'x1', '2026-03-02T08:00:00.000Z', 'ws-other')], 'no_stream');
    await live.caughtUp();
    assert.deepEqual(await counters(), [
      '2026-02-28 outcome=POSITIVE: 1', '2026-02-28 stage=1 Reminder: 1',
      '2026-03-01 outcome=POSITIVE: 1', '2026-03-01 stage=1 Reminder: 1',
      '2026-03-02 outcome=UNCERTAIN: 2', '2026-03-02 stage=(none): 1', '2026-03-02 stage=1 Reminder: 1',
    ]);

    // k1 succeeds; k2 moves on to the next stage and fails.
    await store.append(stream('k1'), [outcome('SUCCESS', 'POSITIVE', '2026-03-09T10:00:00.000Z')], 2);
    await store.append(stream('k2'), [stage('1 Reminder', '2 Call', '2026-03-04T10:00:00.000Z'), outcome('NEGATIVE', 'UNCERTAIN', '2026-03-04T10:05:00.000Z')], 1);
    // Setting the outcome it already has moves nothing (the row, not the event's `previous`, says where a contact is counted).
    await store.append(stream('k3'), [outcome('POSITIVE', 'UNCERTAIN', '2026-03-06T12:00:00.000Z')], 2);
    await live.caughtUp();
    assert.deepEqual(await counters(), [
      '2026-02-28 outcome=POSITIVE: 1', '2026-02-28 stage=1 Reminder: 1',
      '2026-03-01 outcome=SUCCESS: 1', '2026-03-01 stage=1 Reminder: 1',
      '2026-03-02 outcome=NEGATIVE: 1', '2026-03-02 outcome=UNCERTAIN: 1', '2026-03-02 stage=(none): 1', '2026-03-02 stage=2 Call: 1',
    ]);
  });

  it('answers per day, ISO week (from Monday) and month, summing the days, with the panel\'s totals and rates', async () => {
    const day = await queryCampaignPerformance(db.pool, WS, campaign, 'day');
    assert.deepEqual(
      { ...day, completionRate: day.completionRate, successRate: Number(day.successRate?.toFixed(4)) },
      {
        campaignId: campaign, period: 'day',
        totalContacts: 4, processedContacts: 3, completedContacts: 2, successfulContacts: 1, completionRate: 0.5, successRate: 0.3333,
        periods: ['2026-02-28', '2026-03-01', '2026-03-02'],
        stages: [{ stage: null, contacts: [0, 0, 1] }, { stage: '1 Reminder', contacts: [1, 1, 0] }, { stage: '2 Call', contacts: [0, 0, 1] }],
        outcomes: [
          { outcome: 'SUCCESS', contacts: [0, 1, 0] }, { outcome: 'POSITIVE', contacts: [1, 0, 0] },
          { outcome: 'UNCERTAIN', contacts: [0, 0, 1] }, { outcome: 'NEGATIVE', contacts: [0, 0, 1] },
        ],
      },
    );
    const week = await queryCampaignPerformance(db.pool, WS, campaign, 'week');
    assert.deepEqual(week.periods, ['2026-02-23', '2026-03-02'], 'Saturday and Sunday in the week of Monday 23 February; Monday 2 March starts the next');
    assert.deepEqual(week.stages, [{ stage: null, contacts: [0, 1] }, { stage: '1 Reminder', contacts: [2, 0] }, { stage: '2 Call', contacts: [0, 1] }]);
    assert.deepEqual(week.outcomes.map((o) => [o.outcome, o.contacts]), [['SUCCESS', [1, 0]], ['POSITIVE', [1, 0]], ['UNCERTAIN', [0, 1]], ['NEGATIVE', [0, 1]]]);
    const month = await queryCampaignPerformance(db.pool, WS, campaign, 'month');
    assert.deepEqual(month.periods, ['2026-02-01', '2026-03-01']);
    assert.deepEqual(month.stages, [{ stage: null, contacts: [0, 1] }, { stage: '1 Reminder', contacts: [1, 1] }, { stage: '2 Call', contacts: [0, 1] }]);
    assert.deepEqual([week.totalContacts, month.totalContacts, month.processedContacts], [4, 4, 3]);

    // Row-level security: another workspace asking for this campaign sees nothing; its own campaign is its own.
    const foreign = await queryCampaignPerformance(db.pool, 'ws-other', campaign, 'day');
    assert.deepEqual([foreign.totalContacts, foreign.periods, foreign.completionRate, foreign.successRate], [0, [], null, null]);
    assert.equal((await queryCampaignPerformance(db.pool, 'ws-other', other, 'week')).totalContacts, 1);
    await assert.rejects(queryCampaignPerformance(db.pool, WS, campaign, 'year' as 'day'), (e: DomainError) => e.code === 'invalid' && e.field === 'period');
  });

  it('a redelivered event changes nothing', async () => {
    const before = await everything();
    const redeliver = idempotentBatchProjection(db.pool, GROUP, projectCampaignPerformance);
    const k1 = await store.readStream(stream('k1'));
    const k2 = await store.readStream(stream('k2'));
    // Older revisions, each of which would move its contact back (k1 to POSITIVE, k2 to 1 Reminder), alone and in a batch with a creation.
    for (const batch of [[k1[2]], [k2[1]], [k2[0], k2[2], k2[1]], k1]) {
      await redeliver(batch.map((event) => ({ event, topic: TOPICS.contactEvents })));
      assert.deepEqual(await everything(), before);
    }
    // The same delivery without the stream revision check would have moved k1: the check above is what held.
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await projectCampaignPerformance(k1[2], TOPICS.contactEvents, client);
      const { rows } = await client.query(`select outcome from campaign_performance_contacts where campaign_id = $1 and contact_key = 'k1'`, [campaign]);
      assert.equal(rows[0].outcome, 'POSITIVE');
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('campaign-performance read model in batches', () => {
  it('leaves the rows (zero counters included) projectCampaignPerformance leaves, event by event', async () => {
    const campaign = randomUUID();
    const revisions = new Map<string, number>();
    let position = 0;
    const rec = (key: string, e: Event): { event: RecordedEvent; topic: string } => {
      const streamId = contactStreamId(campaign, key);
      const revision = (revisions.get(streamId) ?? -1) + 1;
      revisions.set(streamId, revision);
      return { event: { ...e, streamId, revision, position: ++position } as RecordedEvent, topic: TOPICS.contactEvents };
    };
    const earlier = [rec('old', created(campaign, 'old', '2026-03-01T08:00:00Z'))];
    const batch = [
      rec('a', created(campaign, 'a', '2026-03-02T08:00:00Z')),
      rec('a', stage(null, '1 Reminder', '2026-03-02T08:00:00Z')),
      rec('old', stage(null, '2 Call', '2026-03-02T08:00:00Z')),
      rec('b', created(campaign, 'b', '2026-03-02T23:59:59Z')),
      rec('b', stage(null, '1 Reminder', '2026-03-03T08:00:00Z')),
      rec('b', stage('1 Reminder', null, '2026-03-03T09:00:00Z')),
      rec('b', outcome('POSITIVE', 'UNCERTAIN', '2026-03-03T09:00:00Z')),
      rec('b', outcome('SUCCESS', 'POSITIVE', '2026-03-03T10:00:00Z')),
      rec('c', created(campaign, 'c', '2026-03-03T00:00:00Z')),
      // Created again: that row exists, so its moves apply one by one.
      { ...earlier[0] },
      rec('old', outcome('NEGATIVE', 'UNCERTAIN', '2026-03-03T10:00:00Z')),
    ];
    const one = await createTestDatabase('herald_perf_one');
    const many = await createTestDatabase('herald_perf_many');
    try {
      const tables = async (db: TestDatabase) => ({
        contacts: (await db.pool.query('select * from campaign_performance_contacts order by campaign_id, contact_key')).rows,
        days: (await db.pool.query('select * from campaign_performance_days order by campaign_id, day, dimension, value')).rows,
      });
      for (const db of [one, many]) {
        await db.pool.query(CAMPAIGN_PERFORMANCE_SCHEMA);
        const client = await db.pool.connect();
        try {
          for (const { event, topic } of earlier) await projectCampaignPerformance(event, topic, client);
          if (db === one) for (const { event, topic } of batch) await projectCampaignPerformance(event, topic, client);
          else await projectCampaignPerformanceMany(batch, client);
        } finally {
          client.release();
        }
      }
      const expected = await tables(one);
      assert.equal(expected.contacts.length, 4);
      assert.ok(expected.days.some((d) => d.contacts === 0), 'the sequence leaves zero counters');
      assert.deepEqual(await tables(many), expected);
    } finally {
      await one.drop();
      await many.drop();
    }
  });
});
