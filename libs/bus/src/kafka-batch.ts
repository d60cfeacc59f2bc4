import type { EachBatchPayload, Logger } from 'kafkajs';
import { HEADERS, type RecordedEvent } from '@herald/contracts';
import { context, contextFromTraceparent } from '@herald/observability';
import type { EventHandler } from './bus';
import { decodeEvent, unwanted } from './kafka-codec';
import { backoffDelay, sleepUnless } from './backoff';

export interface BatchContext {
  readonly handler: EventHandler;
  readonly onError?: (error: unknown, event: RecordedEvent) => void;
  /** The topic name handlers see: without the bus's prefix. */
  readonly logicalTopic: (physical: string) => string;
  readonly maxRetryDelayMs: number;
  readonly commitIntervalMs: number;
  readonly logger: Logger;
  /** The event types handlers want (BusSubscribeOptions.types); null: all. */
  readonly wanted?: ReadonlySet<string> | null;
}

/**
 * Handles one fetched batch of one partition, message by message. An offset
 * is resolved and committed only after its handler resolved, so committed
 * offsets never pass unhandled work: a crash or a rebalance redelivers at
 * most what was handled but not yet committed (consumers are idempotent).
 * A failing handler is retried on the same message with a capped backoff,
 * never skipped, and the consumer keeps its group membership meanwhile.
 */
export async function handleBatch(payload: EachBatchPayload, ctx: BatchContext): Promise<void> {
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
  const topic = ctx.logicalTopic(batch.topic);
  // Leave the batch when stopping or when a rebalance took the partition away:
  // the unresolved rest is fetched again by whoever owns the partition.
  const mustLeave = () => !isRunning() || isStale();
  let handled: string | null = null; // offset of the last handled, not yet committed message
  let lastCommit = Date.now();

  const commit = async () => {
    if (handled === null) return;
    const next = (BigInt(handled) + 1n).toString();
    handled = null;
    lastCommit = Date.now();
    try {
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
    } catch (error) {
      // Typically a rebalance: the work is redelivered to the new owner, which is harmless.
      ctx.logger.warn('offset commit failed', { topic: batch.topic, partition: batch.partition, offset: next, error: String(error) });
    }
  };

  for (const message of batch.messages) {
    if (mustLeave()) break;
    if (unwanted(message.headers, ctx.wanted)) {
      resolveOffset(message.offset);
      handled = message.offset;
      continue;
    }
    let event: RecordedEvent;
    try {
      event = decodeEvent(message.value);
    } catch (error) {
      // Not one of our events (no retry can ever succeed): log and move on rather than block the partition.
      ctx.logger.error('skipping a message that is not a Herald event', { topic: batch.topic, partition: batch.partition, offset: message.offset, error: String(error) });
      resolveOffset(message.offset);
      handled = message.offset;
      continue;
    }
    // The producer's trace context travels in the traceparent header: the handler runs inside it.
    const traceparent = message.headers?.[HEADERS.traceparent]?.toString();
    const traceContext = contextFromTraceparent(traceparent, context.active());
    for (let attempt = 1; ; attempt++) {
      try {
        await context.with(traceContext, () => ctx.handler(event, topic));
        break;
      } catch (error) {
        ctx.onError?.(error, event);
        // Commit what precedes the failing message, so a long outage does not hold it back.
        await commit();
        // Heartbeats keep the membership; a rebalance error from them propagates to kafkajs, which rejoins.
        await sleepUnless(backoffDelay(attempt, ctx.maxRetryDelayMs), mustLeave, heartbeat);
        if (mustLeave()) {
          await commit();
          return;
        }
      }
    }
    resolveOffset(message.offset);
    handled = message.offset;
    if (Date.now() - lastCommit >= ctx.commitIntervalMs) await commit();
    await heartbeat();
  }
  await commit();
}
