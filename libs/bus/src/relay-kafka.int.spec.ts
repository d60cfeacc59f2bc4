import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Pool, type PoolClient } from 'pg';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { HEADERS, newEvent, TOPICS, dispatchRequestsTopic, type Event, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { KafkaBus } from './kafka-bus';
import { Relay, type RelayHandle } from './relay';
import { idempotentProjection } from './idempotent-consumer';
import { encodeEvent } from './kafka-codec';
import type { BusSubscription, EventPublisher } from './bus';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const RUN = randomBytes(4).toString('hex');
const EMAIL = dispatchRequestsTopic('email_notification');
const ev = (type: string, data: unknown = {}, extra: object = {}): Event => newEvent(type, data, { workspaceId: 'ws-kafka', ...extra });

async function assertKafkaReachable(): Promise<void> {
  const [host, port] = BROKERS[0].split(':');
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port: Number(port) }, () => {
      socket.end();
      resolve();
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('timeout')));
    socket.on('error', (e) => reject(new Error(`Kafka is not reachable on ${BROKERS[0]} (start it: bash deploy/local/kafka.sh start): ${e.message}`)));
  });
}

interface Delivery { topic: string; event: RecordedEvent }

describe('Relay -> Kafka -> KafkaBus (real PostgreSQL, real Kafka)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const closers: (() => Promise<unknown>)[] = [];
  const newBus = (name: string) => {
    const bus = new KafkaBus({ brokers: BROKERS, clientId: `test-${name}`, topicPrefix: `test-${RUN}-${name}.`, maxRetryDelayMs: 200 });
    closers.push(() => bus.close());
    return bus;
  };
  const startRelay = async (options: Parameters<typeof Relay.start>[0]) => {
    const relay = await Relay.start(options);
    closers.push(() => relay.stop());
    return relay;
  };
  const newPool = () => {
    const pool = new Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined); // the killed relay session surfaces here too
    closers.push(() => pool.end());
    return pool;
  };
  /** Consumes with KafkaBus in a new group (replays from the earliest offset). */
  async function consume(bus: KafkaBus, topics: string[], handler?: (d: Delivery) => Promise<void>, onError?: (e: unknown) => void) {
    const deliveries: Delivery[] = [];
    const sub: BusSubscription = await bus.subscribe({
      group: `g-${randomUUID()}`,
      topics,
      handler: async (event, topic) => {
        await handler?.({ topic, event });
        deliveries.push({ topic, event });
      },
      onError,
    });
    closers.push(() => sub.close());
    return deliveries;
  }
  async function appendAll(): Promise<RecordedEvent[]> {
    const campaign = `campaign-${randomUUID()}`;
    const contacts = [0, 1, 2].map(() => `contact-${campaign.slice(9)}-${randomUUID()}`);
    await store.append(campaign, [ev('CampaignCreated', { name: 'Debt' }), ev('StageAdded', { stage: 'First Contact' })], 'no_stream');
    await store.append(contacts[0], [ev('ContactCreated', { name: 'A' }), ev('CommunicationPlanned', { channel: 'email_notification' })], 'no_stream');
    await store.append(contacts[1], [ev('ContactCreated', { name: 'B' })], 'no_stream');
    await store.appendMany([
      {
        streamId: contacts[0],
        expectedRevision: 1,
        events: [
          ev('CommunicationStarted', { channel: 'email_notification', communicationId: 'm-1' }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', causationId: randomUUID() }),
          ev('OutcomeSet', { outcome: 'UNCERTAIN' }),
        ],
      },
      { streamId: contacts[2], expectedRevision: 'no_stream', events: [ev('ContactCreated', { name: 'C' }), ev('StageChanged', { stage: 'First Contact' })] },
      { streamId: campaign, expectedRevision: 1, events: [ev('CampaignStarted')] },
    ]);
    await store.append(contacts[1], [ev('StageChanged', { stage: 'First Contact' })], 0);
    // Every relay name starts from position 0, so its topics carry the whole log, earlier tests' events included.
    return store.readAll({ after: 0, maxCount: 10_000 });
  }
  const eventTopics = [TOPICS.contactEvents, TOPICS.campaignEvents];
  const idsOn = (ds: Delivery[], topic?: string) => ds.filter((d) => !topic || d.topic === topic).map((d) => d.event.metadata.eventId);
  const countBy = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());

  before(async () => {
    await assertKafkaReachable();
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await db?.drop();
  });

  it('publishes every event to its topics, keyed by stream, with the contract headers, in per-stream order', async () => {
    const events = await appendAll();
    const bus = newBus('order');
    const relay = await startRelay({ store, publisher: bus, pool: db.pool, name: 'order', batchSize: 4 });
    await relay.caughtUp();
    assert.equal(relay.isLeader(), true);

    // What an outside consumer sees on the wire: a plain kafkajs consumer.
    const raw: { topic: string; partition: number; key: string; headers: Record<string, string>; value: unknown }[] = [];
    const kafka = new Kafka({ clientId: 'test-raw', brokers: BROKERS, logLevel: logLevel.WARN });
    const rawConsumer: Consumer = kafka.consumer({ groupId: `raw-${randomUUID()}`, maxWaitTimeInMs: 500 });
    closers.push(() => rawConsumer.disconnect());
    await rawConsumer.connect();
    await rawConsumer.subscribe({ topics: [...eventTopics, EMAIL].map((t) => bus.topicName(t)), fromBeginning: true });
    await rawConsumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        raw.push({ topic: topic.slice(bus.topicName('').length), partition, key: message.key!.toString(), headers, value: JSON.parse(message.value!.toString()) });
      },
    });
    const deliveries = await consume(bus, [...eventTopics, EMAIL]);

    const started = events.find((e) => e.type === 'CommunicationStarted')!;
    const expectedCount = events.length + 1;
    await eventually(() => raw.length >= expectedCount && deliveries.length >= expectedCount, { timeoutMs: 20_000, what: `${expectedCount} messages (raw ${raw.length}, bus ${deliveries.length})` });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(raw.length, expectedCount, 'no duplicates and nothing extra');
    assert.equal(deliveries.length, expectedCount);

    for (const e of events) {
      const topic = e.streamId.startsWith('campaign-') ? TOPICS.campaignEvents : TOPICS.contactEvents;
      const m = raw.find((r) => r.topic === topic && r.headers[HEADERS.eventId] === e.metadata.eventId);
      assert.ok(m, `${e.type} ${e.streamId}@${e.revision} on ${topic}`);
      assert.equal(m.key, e.streamId);
      assert.deepEqual(m.headers, encodeEvent(e).headers);
      assert.deepEqual(m.value, { streamId: e.streamId, revision: e.revision, position: e.position, type: e.type, data: e.data, metadata: e.metadata });
    }
    assert.equal(raw.find((r) => r.headers[HEADERS.eventId] === started.metadata.eventId && r.topic === TOPICS.contactEvents)!.headers[HEADERS.traceparent], started.metadata.traceparent);
    const onEmail = raw.filter((r) => r.topic === EMAIL);
    assert.deepEqual(onEmail.map((r) => [r.key, r.headers[HEADERS.eventId]]), [[started.streamId, started.metadata.eventId]]);

    // Per stream: one partition, revisions in order, as seen by both consumers.
    for (const streamId of new Set(events.map((e) => e.streamId))) {
      const mine = raw.filter((r) => r.key === streamId && r.topic !== EMAIL);
      assert.equal(new Set(mine.map((r) => r.partition)).size, 1, `${streamId} stays in one partition`);
      const expected = events.filter((e) => e.streamId === streamId).map((e) => e.revision);
      assert.deepEqual(mine.map((r) => Number(r.headers[HEADERS.revision])), expected);
      assert.deepEqual(deliveries.filter((d) => d.event.streamId === streamId && d.topic !== EMAIL).map((d) => d.event.revision), expected);
    }
    // KafkaBus hands back exactly the recorded events, with the logical topic names.
    for (const d of deliveries) {
      const e = events.find((x) => x.metadata.eventId === d.event.metadata.eventId)!;
      assert.deepEqual(d.event, e);
    }
    assert.deepEqual(deliveries.filter((d) => d.topic === EMAIL).map((d) => d.event.metadata.eventId), [started.metadata.eventId]);
  });

  it('a relay killed after publishing and before its checkpoint republishes; an idempotent projection counts each event once', async () => {
    const events = await appendAll();
    const bus = newBus('crash');
    let crashes = 0;
    const crashing: EventPublisher = {
      // Publishes, then dies before the subscription can save its checkpoint.
      publish: async (messages) => {
        await bus.publish(messages);
        crashes += 1;
        throw new Error('relay process killed');
      },
      close: async () => undefined,
    };
    const first = await startRelay({ store, publisher: crashing, pool: newPool(), name: 'crash', batchSize: 1000 });
    await eventually(() => crashes >= 1, { what: 'the first publish' });
    await first.stop();
    const { rows: checkpoint } = await db.pool.query(`select position from herald_checkpoints where name = 'relay:crash' and position > 0`);
    assert.deepEqual(checkpoint, [], 'the checkpoint did not move past the crashed batch');

    const second = await startRelay({ store, publisher: bus, pool: newPool(), name: 'crash', batchSize: 1000 });
    await second.caughtUp();

    await db.pool.query('create table kafka_counts (stream_id text primary key, n int not null)');
    const project = idempotentProjection(db.pool, 'kafka-counts', async (e: RecordedEvent, _t: string, client: PoolClient) => {
      await client.query('insert into kafka_counts (stream_id, n) values ($1, 1) on conflict (stream_id) do update set n = kafka_counts.n + 1', [e.streamId]);
    });
    const errors: unknown[] = [];
    let failedOnce = false;
    const deliveries = await consume(bus, eventTopics, async ({ topic, event }) => {
      await project(event, topic);
      // A handler failure is retried on the same message, not skipped.
      if (event.revision === 1 && !failedOnce) {
        failedOnce = true;
        throw new Error('handler failure');
      }
    }, (e) => errors.push(e));

    await eventually(() => {
      const counts = countBy(idsOn(deliveries));
      return events.every((e) => (counts.get(e.metadata.eventId) ?? 0) >= 2);
    }, { timeoutMs: 20_000, what: 'every event delivered from both relay runs' });
    const { rows } = await db.pool.query<{ stream_id: string; n: number }>('select stream_id, n from kafka_counts order by stream_id');
    const expected = [...countBy(events.map((e) => e.streamId))].sort(([a], [b]) => a.localeCompare(b));
    assert.deepEqual(rows.map((r) => [r.stream_id, r.n]), expected, 'one count per event in spite of duplicates');
    assert.equal(errors.length, 1, 'onError saw the handler failure once');
    // Per stream the consumer saw the first run in order, then the republished run in order.
    for (const streamId of new Set(events.map((e) => e.streamId))) {
      const revs = events.filter((e) => e.streamId === streamId).map((e) => e.revision);
      const seen = deliveries.filter((d) => d.event.streamId === streamId).map((d) => d.event.revision);
      assert.deepEqual(seen.slice(0, revs.length * 2), [...revs, ...revs]);
    }
  });

  it('two relays: one leader; when it stops or its session dies, another takes over from the checkpoint', async () => {
    const bus = newBus('ha');
    const events = await appendAll();
    const a = await startRelay({ store, publisher: bus, pool: newPool(), name: 'ha' });
    const b = await startRelay({ store, publisher: bus, pool: newPool(), name: 'ha' });
    const leaders = () => [a, b].filter((r) => r.isLeader());
    await eventually(() => leaders().length === 1, { what: 'a leader' });
    await new Promise((r) => setTimeout(r, 1500)); // a few follower retries
    assert.equal(leaders().length, 1, 'exactly one leader');
    const leader = leaders()[0];
    const follower: RelayHandle = leader === a ? b : a;
    await leader.caughtUp();

    const deliveries = await consume(bus, eventTopics);
    await leader.stop();
    const more = await appendAll();
    await eventually(() => follower.isLeader(), { what: 'the follower taking over' });
    await follower.caughtUp();

    // A third process joins; the current leader's session is killed (as when its process dies).
    const c = await startRelay({ store, publisher: bus, pool: newPool(), name: 'ha' });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(c.isLeader(), false, 'the newcomer waits while the lock is held');
    await db.pool.query(
      `select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`,
    );
    // The killed session's leader notices and steps down; whichever relay wins the lock next leads alone.
    await eventually(() => [follower, c].filter((r) => r.isLeader()).length === 1, { what: 'one leader after the session died' });
    const next = [follower, c].find((r) => r.isLeader())!;
    const last = await appendAll();
    await next.caughtUp();

    const all = last;
    assert.ok(all.length > more.length && more.length > events.length);
    await eventually(() => all.every((e) => idsOn(deliveries).includes(e.metadata.eventId)), { timeoutMs: 20_000, what: 'every event delivered' });
    await new Promise((r) => setTimeout(r, 300));
    // Graceful hand-overs continue from the checkpoint: nothing is published twice.
    const counts = countBy(idsOn(deliveries));
    assert.deepEqual([...counts.values()].filter((n) => n !== 1), []);
    assert.equal(deliveries.length, all.length);
  });
});
