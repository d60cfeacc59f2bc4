import { TOPICS, topicsFor, type RecordedEvent } from '@herald/contracts';
import type { EventStore, Subscription } from '@herald/event-store';
import type { BusSubscribeOptions, BusSubscription, EventBus } from './bus';

export interface StoreBusOptions {
  readonly batchSize?: number;
}

export interface StoreBusSubscription extends BusSubscription {
  /** Resolves when everything appended before the call has been handled. */
  caughtUp(): Promise<void>;
}

/** The streams whose events can land on a topic: lets the store filter in SQL. */
export function streamPrefixesFor(topic: string): string[] {
  if (topic === TOPICS.campaignEvents) return ['campaign-'];
  if (topic === TOPICS.contactEvents || isDispatchRequests(topic)) return ['contact-'];
  return [];
}

/**
 * What the store can filter on for a subscription, before any row reaches
 * Node: stream prefixes from the topics, and event types from the
 * subscriber's `types` and from the topics (dispatch.requests.* carry only
 * CommunicationStarted). `types` undefined means every type.
 */
export function storeFilterFor(topics: readonly string[], types?: readonly string[]): { streamPrefixes: string[]; types?: string[] } {
  const streamPrefixes = [...new Set(topics.flatMap(streamPrefixesFor))];
  const routed = topics.every(isDispatchRequests) ? ['CommunicationStarted'] : undefined;
  if (!types) return { streamPrefixes, types: routed };
  return { streamPrefixes, types: routed ? types.filter((t) => routed.includes(t)) : [...new Set(types)] };
}

function isDispatchRequests(topic: string): boolean {
  return topic.startsWith('dispatch.requests.');
}

/**
 * The embedded bus: no Kafka, the event store's global log is the bus. Each
 * consumer group is a durable catch-up subscription ('bus:<group>') that
 * sees the same (event, topic) deliveries Kafka would carry, in global order.
 * A handler error fails the batch and the subscription retries it from its
 * checkpoint, redelivering the events before the failure too: handlers must
 * be idempotent (see idempotentHandler / idempotentProjection).
 */
export class StoreBus implements EventBus {
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly store: EventStore,
    private readonly options: StoreBusOptions = {},
  ) {}

  async subscribe(options: BusSubscribeOptions): Promise<StoreBusSubscription> {
    const topics = new Set(options.topics);
    const filter = storeFilterFor(options.topics, options.types);
    if (!filter.streamPrefixes.length || filter.types?.length === 0) {
      // Topics no stored event is routed to (e.g. dispatch.status, written by external adapters on Kafka only).
      return { close: async () => undefined, caughtUp: async () => undefined };
    }
    const subscription = await this.store.subscribe({
      name: `bus:${options.group}`,
      ...filter,
      batchSize: this.options.batchSize,
      handler: async (events) => {
        const items: { event: RecordedEvent; topic: string }[] = [];
        for (const event of events) {
          for (const topic of topicsFor(event)) if (topics.has(topic)) items.push({ event, topic });
        }
        if (options.batchHandler) {
          const max = options.maxBatchSize ?? 500;
          for (let i = 0; i < items.length; i += max) await deliverBatch(options, items.slice(i, i + max));
          return;
        }
        for (const { event, topic } of items) await deliver(options, event, topic);
      },
    });
    this.subscriptions.add(subscription);
    return {
      caughtUp: () => subscription.caughtUp(),
      close: async () => {
        if (this.subscriptions.delete(subscription)) await subscription.close();
      },
    };
  }

  async close(): Promise<void> {
    const all = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.allSettled(all.map((s) => s.close()));
  }
}

async function deliver(options: BusSubscribeOptions, event: RecordedEvent, topic: string): Promise<void> {
  try {
    await options.handler(event, topic);
  } catch (error) {
    options.onError?.(error, event);
    throw error;
  }
}

async function deliverBatch(options: BusSubscribeOptions, items: { event: RecordedEvent; topic: string }[]): Promise<void> {
  try {
    await options.batchHandler!(items);
  } catch (error) {
    options.onError?.(error, items[0].event);
    throw error;
  }
}
