import { Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { RecordedEvent } from '@herald/contracts';
import { idempotentBatchHandler, idempotentBatchProjection, idempotentProjection, idempotentHandler, type BatchHandler, type BusSubscription, type EventBus } from '@herald/bus';
import { observeDelivery, registerConsumerGroup } from '@herald/observability';

export interface ConsumerSpec {
  group: string;
  topics: string[];
  /** A read model: applied with its progress in one transaction. */
  project?: (event: RecordedEvent, topic: string, client: PoolClient) => Promise<void>;
  /** The read model's batch form (see idempotentBatchProjection): the same rows as `project` on each event in turn, in fewer statements. */
  projectMany?: (items: readonly { event: RecordedEvent; topic: string }[], client: PoolClient) => Promise<void>;
  /** A handler with idempotent effects of its own (deterministic event ids, ledgers). */
  handle?: (event: RecordedEvent, topic: string) => Promise<void>;
  /**
   * The same, for many deliveries at once (in delivery order, the ones the group has not applied yet):
   * a handler that does its work in bulk (one strategy call and one append for many contacts).
   */
  handleBatch?: BatchHandler;
  /** Largest batch for project / handleBatch (default 500). */
  maxBatchSize?: number;
  /**
   * For `handle`: deliveries of different streams run at once, up to this many (a stream's own events
   * stay in order). For I/O-bound handlers (a provider call, a few queries), so that one slow call does
   * not hold up every other contact of the partition. A failure retries the batch; the handler's
   * idempotence absorbs what had already been done.
   */
  concurrency?: number;
  /** Called after each applied event, e.g. to wake a timer loop. */
  after?: (event: RecordedEvent) => void;
  /**
   * The event types the consumer acts on, when it ignores every other. The bus passes over the others
   * (BusSubscribeOptions.types) before the idempotency wrapper: no progress is read or written for
   * them, which spares the database a progress upsert per contact stream and group for events the
   * group never uses (an upload's ContactCreated for the Aggregation hook's group).
   */
  types?: readonly string[];
}

/** Subscribes a consumer group with the idempotency wrapper that fits it. */
export async function startConsumer(bus: EventBus, pool: Pool, given: ConsumerSpec): Promise<BusSubscription> {
  const spec = given.handle && given.concurrency && given.concurrency > 1 && !given.handleBatch
    ? { ...given, handleBatch: inLanes(given.handle, given.concurrency) }
    : given;
  const logger = new Logger(spec.group);
  const inner = spec.project
    ? idempotentProjection(pool, spec.group, spec.project)
    : idempotentHandler(pool, spec.group, spec.handle ?? ((event, topic) => spec.handleBatch!([{ event, topic }])));
  const batch = spec.project ? idempotentBatchProjection(pool, spec.group, spec.project, spec.projectMany)
    : spec.handleBatch ? idempotentBatchHandler(pool, spec.group, spec.handleBatch) : undefined;
  registerConsumerGroup(spec.group, spec.topics);
  return bus.subscribe({
    group: spec.group,
    topics: spec.topics,
    types: spec.types,
    // A consumer span (parent: the message's trace context) and the per-group counters.
    handler: observeDelivery(spec.group, async (event, topic) => {
      await inner(event, topic);
      spec.after?.(event);
    }),
    // Read models apply a batch per transaction (one commit per batch); handlers with effects of their own go one by one unless they take batches.
    ...(batch ? {
      maxBatchSize: spec.maxBatchSize,
      batchHandler: async (items: readonly { event: RecordedEvent; topic: string }[]) => {
        await batch(items);
        for (const { event } of items) spec.after?.(event);
      },
    } : {}),
    onError: (error, event) => logger.error(`failed on ${event.type} ${event.streamId}@${event.revision}: ${(error as Error)?.stack ?? error}`),
  });
}

/** A batch handler that runs `handle` per stream lane: lanes in parallel (at most `limit`), each lane's events in order. */
export function inLanes(handle: (event: RecordedEvent, topic: string) => Promise<void>, limit: number): BatchHandler {
  return async (items) => {
    const lanes = new Map<string, { event: RecordedEvent; topic: string }[]>();
    for (const item of items) {
      const lane = lanes.get(item.event.streamId);
      if (lane) lane.push(item);
      else lanes.set(item.event.streamId, [item]);
    }
    const queue = [...lanes.values()];
    const failures: unknown[] = [];
    const worker = async () => {
      for (let lane = queue.shift(); lane; lane = queue.shift()) {
        try {
          for (const { event, topic } of lane) await handle(event, topic);
        } catch (error) {
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
    if (failures.length) throw failures[0];
  };
}
