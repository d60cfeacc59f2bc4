import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { TOPICS, type RecordedEvent } from '@herald/contracts';
import { idempotentHandler, type BusSubscription, type EventBus } from '@herald/bus';
import type { PoolClient } from 'pg';
import { heraldMetrics, observeDelivery, registerConsumerGroup } from '@herald/observability';
import { startConsumer } from '@herald/service-defaults';

export interface SendersSpec {
  readonly group: string;
  readonly topics: string[];
  /** One request (idempotent: the send ledger decides whether it is sent). */
  readonly handle: (event: RecordedEvent) => Promise<void>;
  /** Many requests at once; the error of each one that failed (null: done), in order. */
  readonly handleBatch: (events: readonly RecordedEvent[], options: { concurrency: number; group: string }) => Promise<(unknown | null)[]>;
  /** Requests carried out at once (of different contacts). */
  readonly concurrency: number;
}

/**
 * The consumer of `dispatch.requests.<channel>`. A send waits on a provider
 * (an SMTP dialogue, an HTTP call, a rate limit), and its bookkeeping is a
 * handful of statements, so a delivered batch (a polled page of the event
 * log, a chunk of a Kafka partition's fetch) is carried out together: the
 * ledger, contacts, opt-outs and ends in one statement each for the whole
 * batch, the provider calls `concurrency` at once (DispatchHandler.handleBatch).
 * Requests that carry a trace context go one by one, each in its own
 * consumer span, so that a traced request keeps its span chain.
 *
 * No consumer-progress table: the send ledger is the record of what was
 * done, and every event dispatch appends has a deterministic id. When some
 * requests of a batch fail, the others still finish; the batch then fails
 * and is delivered again, and what was done is found in the ledger.
 */
export async function startSenders(bus: EventBus, spec: SendersSpec): Promise<BusSubscription> {
  const logger = new Logger(spec.group);
  const one = observeDelivery(spec.group, (event) => spec.handle(event));
  const log = (error: unknown, event: RecordedEvent) => logger.error(`failed on ${event.type} ${event.streamId}@${event.revision}: ${(error as Error)?.stack ?? error}`);
  registerConsumerGroup(spec.group, spec.topics);
  return bus.subscribe({
    group: spec.group,
    topics: spec.topics,
    handler: one,
    onError: (error, event) => {
      if (!(error instanceof BatchFailed)) log(error, event);
    },
    batchHandler: async (items) => {
      const traced = items.filter((i) => i.event.metadata.traceparent);
      const plain = items.filter((i) => !i.event.metadata.traceparent);
      const failures: unknown[] = [];
      const [batchErrors] = await Promise.all([
        plain.length ? spec.handleBatch(plain.map((i) => i.event), { concurrency: spec.concurrency, group: spec.group }) : Promise.resolve([]),
        runTraced(traced, spec.concurrency, one, (error, event) => {
          log(error, event);
          failures.push(error);
        }),
      ]);
      batchErrors.forEach((error, i) => {
        const { event, topic } = plain[i];
        heraldMetrics.consumerHandled.inc({ group: spec.group, topic, result: error ? 'error' : 'ok' });
        if (error) {
          log(error, event);
          failures.push(error);
        }
      });
      if (failures.length) throw new BatchFailed(failures);
    },
  });
}

/** The traced requests one by one, different contacts at once, one contact's in order. */
async function runTraced(items: readonly { event: RecordedEvent; topic: string }[], concurrency: number,
  one: (event: RecordedEvent, topic: string) => Promise<void>, failed: (error: unknown, event: RecordedEvent) => void): Promise<void> {
  const byStream = new Map<string, { event: RecordedEvent; topic: string }[]>();
  for (const item of items) byStream.set(item.event.streamId, [...(byStream.get(item.event.streamId) ?? []), item]);
  const queues = [...byStream.values()];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), queues.length) }, async () => {
    while (next < queues.length) {
      for (const { event, topic } of queues[next++]) {
        try {
          await one(event, topic);
        } catch (error) {
          failed(error, event);
          break; // the rest of this contact's requests wait for the redelivery, in order
        }
      }
    }
  }));
}

/** A batch in which some requests failed (each was logged); the first error is the cause. */
class BatchFailed extends Error {
  constructor(readonly failures: unknown[]) {
    super(`${failures.length} dispatch request(s) failed: ${(failures[0] as Error)?.message ?? failures[0]}`);
    this.name = 'BatchFailed';
  }
}

/**
 * The conversation consumer (dispatch.conversations) answers contact
 * messages only: every other event of contact.events passes without even the
 * progress bookkeeping (its progress is the revision of the last contact
 * message applied, which is all the redelivery check needs).
 */
export async function startConversationConsumer(bus: EventBus, pool: Pool, handle: (event: RecordedEvent) => Promise<void>): Promise<BusSubscription> {
  const group = 'dispatch.conversations';
  const logger = new Logger(group);
  const topics = [TOPICS.contactEvents];
  const one = observeDelivery(group, idempotentHandler(pool, group, (event) => handle(event)));
  registerConsumerGroup(group, topics);
  return bus.subscribe({
    group, topics, types: ['SessionMessageAdded'],
    handler: (event, topic) => (event.type === 'SessionMessageAdded' && (event.data as { role?: string }).role === 'contact' ? one(event, topic) : Promise.resolve()),
    onError: (error, event) => logger.error(`failed on ${event.type} ${event.streamId}@${event.revision}: ${(error as Error)?.stack ?? error}`),
  });
}

/** The transcript read model (dispatch.session-transcripts): SessionMessageAdded only, the other events passed over by the bus. */
export function startTranscriptConsumer(bus: EventBus, pool: Pool, project: (event: RecordedEvent, topic: string, client: PoolClient) => Promise<void>,
  projectMany?: (items: readonly { event: RecordedEvent; topic: string }[], client: PoolClient) => Promise<void>): Promise<BusSubscription> {
  return startConsumer(bus, pool, { group: 'dispatch.session-transcripts', topics: [TOPICS.contactEvents], types: ['SessionMessageAdded'], project, projectMany });
}
