import { Kafka, Partitioners, logLevel as LogLevel, type Admin, type Consumer, type Producer, type Message } from 'kafkajs';
import type { RecordedEvent } from '@herald/contracts';
import type { BusSubscribeOptions, BusSubscription, EventBus, EventPublisher } from './bus';
import { encodeEvent } from './kafka-codec';
import { handleBatch } from './kafka-batch';
import { handleChunks } from './kafka-chunks';

export interface KafkaBusOptions {
  readonly brokers: string[];
  readonly clientId: string;
  /** Prepended to every topic name and consumer group id: isolates tests and environments sharing a broker. */
  readonly topicPrefix?: string;
  /** Partitions of the topics this bus creates (default 3). */
  readonly partitions?: number;
  /** Replication factor of created topics (default -1: the broker's default). */
  readonly replicationFactor?: number;
  /** retention.ms of created topics (default -1: forever, so history can be replayed from offset 0). */
  readonly retentionMs?: number;
  /** Partitions a consumer handles at once; each partition is always sequential (default 3). */
  readonly partitionsConsumedConcurrently?: number;
  /** Cap of the backoff between retries of a failing handler (default 5 s). */
  readonly maxRetryDelayMs?: number;
  /** How often offsets are committed inside a batch (default 1 s); always at the batch end. */
  readonly commitIntervalMs?: number;
  readonly logLevel?: LogLevel;
}

/** Upper bound of the values sent in one produce request; keeps each partition's record batch under the broker's 1 MB default. */
const MAX_BATCH_BYTES = 512 * 1024;

/**
 * The distributed bus on Kafka. Publishing (the relay's side) uses an
 * idempotent producer, so broker-side retries never duplicate or reorder a
 * partition. Consuming commits an offset only after its handler resolved.
 */
export class KafkaBus implements EventBus, EventPublisher {
  private readonly kafka: Kafka;
  private readonly prefix: string;
  private producer: Promise<Producer> | null = null;
  private admin: Promise<Admin> | null = null;
  private readonly ensured = new Set<string>();
  private readonly consumers = new Set<Consumer>();
  /** Publishes one after another: the idempotent producer's sequence numbers expect it, and so does the relay's order. */
  private sending: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    this.prefix = options.topicPrefix ?? '';
    this.kafka = new Kafka({ clientId: options.clientId, brokers: options.brokers, logLevel: options.logLevel ?? LogLevel.WARN });
  }

  /** The broker-side name of a topic. */
  topicName(topic: string): string {
    return this.prefix + topic;
  }

  /** Creates the topics that do not exist yet (idempotent, safe against concurrent creators). */
  async ensureTopics(topics: readonly string[]): Promise<void> {
    const missing = [...new Set(topics.map((t) => this.topicName(t)))].filter((t) => !this.ensured.has(t));
    if (!missing.length) return;
    const admin = await this.connected('admin');
    const existing = new Set(await admin.listTopics());
    const toCreate = missing.filter((t) => !existing.has(t));
    if (toCreate.length) {
      // Resolves false when another process created them first ("already exists"): fine. Its wait for
      // leaders can fail on metadata not yet propagated (retriable): waitForLeaders below waits properly.
      await admin.createTopics({
        waitForLeaders: true,
        topics: toCreate.map((topic) => ({
          topic,
          numPartitions: this.options.partitions ?? 3,
          replicationFactor: this.options.replicationFactor ?? -1,
          configEntries: [{ name: 'retention.ms', value: String(this.options.retentionMs ?? -1) }],
        })),
      }).catch((error: { retriable?: boolean }) => {
        if (!error?.retriable) throw error;
      });
    }
    await waitForLeaders(admin, missing);
    for (const t of missing) this.ensured.add(t);
  }

  /** Resolves once Kafka acknowledged every message (acks from all in-sync replicas). */
  async publish(messages: readonly { topic: string; event: RecordedEvent }[]): Promise<void> {
    if (!messages.length) return;
    this.assertOpen();
    await this.ensureTopics(messages.map((m) => m.topic));
    const producer = await this.connected('producer');
    const send = this.sending.then(async () => {
      for (const chunk of chunks(messages.map((m) => ({ topic: this.topicName(m.topic), message: encodeEvent(m.event) })))) {
        const byTopic = new Map<string, Message[]>();
        for (const { topic, message } of chunk) {
          if (!byTopic.has(topic)) byTopic.set(topic, []);
          byTopic.get(topic)!.push(message);
        }
        await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })) });
      }
    });
    this.sending = send.catch(() => undefined);
    await send;
  }

  async subscribe(options: BusSubscribeOptions): Promise<BusSubscription> {
    this.assertOpen();
    await this.ensureTopics(options.topics);
    const consumer = this.kafka.consumer({
      groupId: this.prefix + options.group,
      allowAutoTopicCreation: false,
      // Short fetch waits so that close() does not wait for a long poll.
      maxWaitTimeInMs: 1000,
    });
    this.consumers.add(consumer);
    const logger = consumer.logger();
    consumer.on(consumer.events.CRASH, (e) => logger.error('consumer crashed; kafkajs restarts it when retriable', { error: String(e.payload.error), restart: e.payload.restart }));
    try {
      await consumer.connect();
      // A new group starts from the earliest offset: it replays history. An existing group resumes from its commits.
      await consumer.subscribe({ topics: options.topics.map((t) => this.topicName(t)), fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => {
          const ctx = {
            handler: options.handler,
            onError: options.onError,
            logicalTopic: (t: string) => (t.startsWith(this.prefix) ? t.slice(this.prefix.length) : t),
            maxRetryDelayMs: this.options.maxRetryDelayMs ?? 5000,
            commitIntervalMs: this.options.commitIntervalMs ?? 1000,
            logger,
            wanted: options.types ? new Set(options.types) : null,
          };
          return options.batchHandler
            ? handleChunks(payload, { ...ctx, batchHandler: options.batchHandler, maxSize: options.maxBatchSize ?? 500 })
            : handleBatch(payload, ctx);
        },
      });
    } catch (error) {
      this.consumers.delete(consumer);
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    return {
      close: async () => {
        if (!this.consumers.delete(consumer)) return;
        await consumer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    await this.sending;
    const producer = this.producer;
    const admin = this.admin;
    this.producer = this.admin = null;
    await Promise.allSettled([producer?.then((p) => p.disconnect()), admin?.then((a) => a.disconnect())]);
  }

  private connected(kind: 'producer'): Promise<Producer>;
  private connected(kind: 'admin'): Promise<Admin>;
  private connected(kind: 'producer' | 'admin'): Promise<Producer | Admin> {
    const existing = kind === 'producer' ? this.producer : this.admin;
    if (existing) return existing;
    const client =
      kind === 'producer'
        ? this.kafka.producer({
            idempotent: true,
            // kafkajs guarantees the idempotent producer's ordering only with one request in flight.
            maxInFlightRequests: 1,
            allowAutoTopicCreation: false,
            // Java-compatible murmur2 partitioner: a key maps to the same partition as in Java clients (and silences kafkajs' v2 warning).
            createPartitioner: Partitioners.DefaultPartitioner,
          })
        : this.kafka.admin();
    const ready = client.connect().then(() => client);
    // A failed connect is retried by the next call instead of being cached.
    ready.catch(() => {
      if (kind === 'producer' && this.producer === ready) this.producer = null;
      if (kind === 'admin' && this.admin === ready) this.admin = null;
    });
    if (kind === 'producer') this.producer = ready as Promise<Producer>;
    else this.admin = ready as Promise<Admin>;
    return ready;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('KafkaBus is closed');
  }
}

function* chunks<T extends { message: { value: string } }>(items: T[]): Generator<T[]> {
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item.message.value);
    if (chunk.length && bytes + size > MAX_BATCH_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += size;
  }
  if (chunk.length) yield chunk;
}

/**
 * Waits until every partition of the topics has a leader. A topic that another
 * process has just created exists before its partitions are led; a producer or
 * consumer that asks for it in that moment gets UNKNOWN_TOPIC_OR_PARTITION.
 */
export async function waitForLeaders(admin: Admin, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics] });
      if (meta.length === topics.length && meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`Kafka topics have no leader after ${timeoutMs} ms: ${topics.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
