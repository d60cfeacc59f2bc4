/**
 * The relay: EVENTS events (default 500,000) already in the PostgreSQL
 * event store are published to Kafka by Relay (checkpointed catch-up
 * subscription, idempotent producer, acks from all in-sync replicas), from
 * start until caughtUp(), on the machine's Kafka broker (127.0.0.1:9092).
 *
 * Baseline in the same run: a bare kafkajs producer with the same settings
 * (idempotent, acks=-1, one request in flight) sending the same messages,
 * already encoded and in memory, in requests of the same size (512 KiB): what any relay
 * must at least do. Topics are created beforehand for both, and deleted after.
 *
 *   npm run bench -- relay              (EVENTS=100000 for a quicker run)
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { topicsFor } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { encodeEvent, KafkaBus, Relay, relayMessages } from '@herald/bus';
import { createTestDatabase } from '@herald/testing';

const EVENTS = Number(process.env.EVENTS ?? 500_000);
const BATCH = Number(process.env.BATCH ?? 5_000);
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

async function seed(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  // Contact streams of 5 events; every 5th is a CommunicationStarted, relayed to two topics like in production.
  await c.query(
    `insert into herald_events (position, stream_id, revision, event_id, type, data, metadata)
     select p, 'contact-6f1d8a52-3c1e-4b8e-9a57-2f0c1f7d4e10-o:' || ((p - 1) / 5), ((p - 1) % 5)::int, md5(p::text)::uuid,
            case when p % 5 = 0 then 'CommunicationStarted' else 'ContactOutcomeSet' end,
            case when p % 5 = 0 then jsonb_build_object('communicationId', md5('c' || p)::uuid, 'channel', 'email_notification', 'stageName', '1 Reminder', 'startedAt', '2026-03-01T09:00:00.000Z')
                 else jsonb_build_object('outcome', 'SUCCESS', 'previous', 'UNCERTAIN') end,
            jsonb_build_object('eventId', md5(p::text)::uuid, 'workspaceId', 'default', 'correlationId', md5('u')::uuid, 'causationId', null, 'schemaVersion', 1, 'timestamp', '2026-03-01T09:00:00.000Z')
     from generate_series(1, $1::bigint) p`,
    [EVENTS],
  );
  await c.query('update herald_log_head set position = $1', [EVENTS]);
  await c.end();
}

async function main(): Promise<void> {
  const db = await createTestDatabase('herald_bench_relay');
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const kafka = new Kafka({ clientId: 'bench-relay', brokers: BROKERS, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const bus = new KafkaBus({ brokers: BROKERS, clientId: 'bench-relay', topicPrefix: `${prefix}relay-`, partitions: 3 });
  try {
    const store = await PostgresEventStore.create(db.pool, { notify: false });
    await seed(db.url);
    const all = await store.readAll({ after: 0, maxCount: EVENTS });
    const messages = relayMessages(all);
    const topics = [...new Set(all.flatMap((e) => topicsFor(e)))];
    await bus.ensureTopics(topics);
    await admin.createTopics({ waitForLeaders: true, topics: topics.map((t) => ({ topic: `${prefix}raw-${t}`, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '-1' }] })) });
    console.log(`  events: ${EVENTS.toLocaleString()} (${messages.length.toLocaleString()} messages over ${topics.length} topics), batch ${BATCH}`);

    // Baseline: encoded messages straight from memory through a bare producer.
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const encoded = messages.map((m) => ({ topic: `${prefix}raw-${m.topic}`, message: encodeEvent(m.event) }));
    const rawStart = process.hrtime.bigint();
    // Requests of at most 512 KiB, as KafkaBus sends them (the broker refuses batches over 1 MB).
    let chunk: typeof encoded = [];
    let bytes = 0;
    const send = async () => {
      const byTopic = new Map<string, typeof chunk[number]['message'][]>();
      for (const { topic, message } of chunk) (byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!).push(message);
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      chunk = [];
      bytes = 0;
    };
    for (const item of encoded) {
      const size = Buffer.byteLength(item.message.value);
      if (chunk.length && bytes + size > 512 * 1024) await send();
      chunk.push(item);
      bytes += size;
    }
    if (chunk.length) await send();
    const rawSeconds = Number(process.hrtime.bigint() - rawStart) / 1e9;
    await producer.disconnect();

    // The relay, from the store, with its checkpoint.
    const relayStart = process.hrtime.bigint();
    const relay = await Relay.start({ store, publisher: bus, pool: db.pool, name: 'bench', batchSize: BATCH, retryMs: 50 });
    await relay.caughtUp();
    const relaySeconds = Number(process.hrtime.bigint() - relayStart) / 1e9;
    await relay.stop();

    const offsets = await Promise.all(topics.map((t) => admin.fetchTopicOffsets(`${prefix}relay-${t}`)));
    const published = offsets.flat().reduce((n, p) => n + Number(p.high), 0);
    if (published < messages.length) throw new Error(`relay published ${published} of ${messages.length} messages`);
    const rawRate = EVENTS / rawSeconds;
    const relayRate = EVENTS / relaySeconds;
    console.log(`  bare producer, from memory:  ${Math.round(rawRate).toLocaleString()} events/s (${rawSeconds.toFixed(1)} s)`);
    console.log(`  relay, store -> Kafka:       ${Math.round(relayRate).toLocaleString()} events/s (${relaySeconds.toFixed(1)} s), ratio ${(relayRate / rawRate).toFixed(2)}`);
    console.log(`  target: >= 50,000 events/s`);
  } finally {
    await bus.close();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
