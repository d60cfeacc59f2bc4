import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { newEvent, TOPICS, dispatchRequestsTopic, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { StoreBus } from './store-bus';
import { idempotentProjection } from './idempotent-consumer';

const ev = (type: string, data: unknown = {}) => newEvent(type, data, { workspaceId: 'ws-test' });
const EMAIL = dispatchRequestsTopic('email_notification');

describe('StoreBus (the event log as the embedded bus)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let bus: StoreBus;
  const campaign = `campaign-${randomUUID()}`;
  const contactA = `contact-c1-${randomUUID()}`;
  const contactB = `contact-c1-${randomUUID()}`;

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    bus = new StoreBus(store, { batchSize: 100 });
    await store.append(campaign, [ev('CampaignCreated', { name: 'x' }), ev('StageAdded', { stage: 's1' })], 'no_stream');
    await store.append(contactA, [ev('ContactCreated'), ev('CommunicationPlanned', { channel: 'email_notification' })], 'no_stream');
    await store.append(contactB, [ev('ContactCreated'), ev('CommunicationStarted', { channel: 'whatsapp' })], 'no_stream');
    await store.append(contactA, [ev('CommunicationStarted', { channel: 'email_notification' }), ev('OutcomeSet', { outcome: 'SUCCESS' })], 1);
  });
  after(async () => {
    await bus.close();
    await db.drop();
  });

  const label = (e: RecordedEvent, topic: string) => `${topic}|${e.streamId}|${e.revision}|${e.type}`;

  it('delivers each event to the subscribed topics it is routed to, in global order', async () => {
    const contactSide: string[] = [];
    const campaignSide: string[] = [];
    const s1 = await bus.subscribe({ group: 'g-contacts', topics: [TOPICS.contactEvents, EMAIL], handler: async (e, t) => void contactSide.push(label(e, t)) });
    const s2 = await bus.subscribe({ group: 'g-campaigns', topics: [TOPICS.campaignEvents], handler: async (e, t) => void campaignSide.push(label(e, t)) });
    await s1.caughtUp();
    await s2.caughtUp();
    assert.deepEqual(contactSide, [
      `contact.events|${contactA}|0|ContactCreated`,
      `contact.events|${contactA}|1|CommunicationPlanned`,
      `contact.events|${contactB}|0|ContactCreated`,
      `contact.events|${contactB}|1|CommunicationStarted`,
      `contact.events|${contactA}|2|CommunicationStarted`,
      `${EMAIL}|${contactA}|2|CommunicationStarted`,
      `contact.events|${contactA}|3|OutcomeSet`,
    ]);
    assert.deepEqual(campaignSide, [`campaign.events|${campaign}|0|CampaignCreated`, `campaign.events|${campaign}|1|StageAdded`]);
    await s1.close();
    await s2.close();
  });

  it('a command-topic-only group sees just the dispatch requests of its channel', async () => {
    const seen: string[] = [];
    const s = await bus.subscribe({ group: 'g-email', topics: [EMAIL], handler: async (e, t) => void seen.push(label(e, t)) });
    await s.caughtUp();
    assert.deepEqual(seen, [`${EMAIL}|${contactA}|2|CommunicationStarted`]);
    await s.close();
  });

  it('resumes from the group checkpoint after close, also in a restarted process', async () => {
    const first: string[] = [];
    const s = await bus.subscribe({ group: 'g-resume', topics: [TOPICS.campaignEvents], handler: async (e, t) => void first.push(label(e, t)) });
    await s.caughtUp();
    await s.close();
    assert.equal(first.length, 2);

    await store.append(campaign, [ev('CampaignStarted')], 1);
    // A second process: its own pool, store and bus on the same database.
    const pool = new Pool({ connectionString: db.url, max: 3 });
    const bus2 = new StoreBus(await PostgresEventStore.create(pool, { pollIntervalMs: 20 }));
    const second: string[] = [];
    const s2 = await bus2.subscribe({ group: 'g-resume', topics: [TOPICS.campaignEvents], handler: async (e, t) => void second.push(label(e, t)) });
    await s2.caughtUp();
    assert.deepEqual(second, [`campaign.events|${campaign}|2|CampaignStarted`]);
    await bus2.close();
    await pool.end();
  });

  it('with idempotentProjection, a batch redelivered after a failure leaves the read model as one delivery would', async () => {
    await db.pool.query('create table stream_counts (stream_id text primary key, n int not null)');
    const project = idempotentProjection(db.pool, 'g-counts', async (e: RecordedEvent, _t: string, client: PoolClient) => {
      await client.query(
        'insert into stream_counts (stream_id, n) values ($1, 1) on conflict (stream_id) do update set n = stream_counts.n + 1',
        [e.streamId],
      );
    });
    let deliveries = 0;
    let failed = false;
    const errors: unknown[] = [];
    const s = await bus.subscribe({
      group: 'g-counts',
      topics: [TOPICS.contactEvents, TOPICS.campaignEvents],
      handler: async (e, t) => {
        deliveries += 1;
        await project(e, t);
        // Fails after the 4th event was projected: the subscription retries the whole batch.
        if (deliveries === 4 && !failed) {
          failed = true;
          throw new Error('crash after projecting');
        }
      },
      onError: (error) => errors.push(error),
    });
    await s.caughtUp();
    await s.close();
    const total = (await store.readAll({ after: 0, maxCount: 1000 })).length;
    assert.ok(failed && errors.length === 1, 'the handler failed once and onError saw it');
    assert.ok(deliveries >= total + 4, `the batch was redelivered (deliveries ${deliveries}, events ${total})`);
    const { rows } = await db.pool.query<{ stream_id: string; n: number }>('select stream_id, n from stream_counts order by stream_id');
    const expected = new Map<string, number>();
    for (const e of await store.readAll({ after: 0, maxCount: 1000 })) expected.set(e.streamId, (expected.get(e.streamId) ?? 0) + 1);
    assert.deepEqual(rows.map((r) => [r.stream_id, r.n]), [...expected].sort(([a], [b]) => a.localeCompare(b)));
  });

  it('keeps delivering what is appended while subscribed', async () => {
    const seen: string[] = [];
    const s = await bus.subscribe({ group: 'g-live', topics: [TOPICS.contactEvents], handler: async (e, t) => void seen.push(label(e, t)) });
    await s.caughtUp();
    const before = seen.length;
    const contactC = `contact-c1-${randomUUID()}`;
    await store.append(contactC, [ev('ContactCreated')], 'no_stream');
    await eventually(() => seen.length === before + 1, { what: 'live delivery', timeoutMs: 5000 });
    assert.equal(seen.at(-1), `contact.events|${contactC}|0|ContactCreated`);
    await s.close();
  });
});
