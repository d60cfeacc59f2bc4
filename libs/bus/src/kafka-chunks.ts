import type { EachBatchPayload } from 'kafkajs';
import type { RecordedEvent } from '@herald/contracts';
import type { BatchHandler } from './bus';
import type { BatchContext } from './kafka-batch';
import { decodeEvent, unwanted } from './kafka-codec';
import { backoffDelay, sleepUnless } from './backoff';

/**
 * Like handleBatch, for a BatchHandler: consecutive messages of the fetched
 * partition batch go to the handler in chunks of at most `maxSize`. A chunk's
 * offsets are resolved and committed only after the handler resolved; a
 * failing chunk is retried whole with a capped backoff (handlers are
 * idempotent), never skipped.
 */
export async function handleChunks(payload: EachBatchPayload, ctx: BatchContext & { batchHandler: BatchHandler; maxSize: number }): Promise<void> {
  const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
  const topic = ctx.logicalTopic(batch.topic);
  const mustLeave = () => !isRunning() || isStale();
  const commit = async (offset: string) => {
    try {
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(offset) + 1n).toString() }] }] });
    } catch (error) {
      ctx.logger.warn('offset commit failed', { topic: batch.topic, partition: batch.partition, offset, error: String(error) });
    }
  };
  for (let start = 0; start < batch.messages.length; start += ctx.maxSize) {
    if (mustLeave()) return;
    const messages = batch.messages.slice(start, start + ctx.maxSize);
    const items: { event: RecordedEvent; topic: string }[] = [];
    for (const message of messages) {
      if (unwanted(message.headers, ctx.wanted)) continue;
      try {
        items.push({ event: decodeEvent(message.value), topic });
      } catch (error) {
        ctx.logger.error('skipping a message that is not a Herald event', { topic: batch.topic, partition: batch.partition, offset: message.offset, error: String(error) });
      }
    }
    for (let attempt = 1; items.length; attempt++) {
      try {
        await ctx.batchHandler(items);
        break;
      } catch (error) {
        ctx.onError?.(error, items[0].event);
        await sleepUnless(backoffDelay(attempt, ctx.maxRetryDelayMs), mustLeave, heartbeat);
        if (mustLeave()) return;
      }
    }
    const last = messages[messages.length - 1].offset;
    resolveOffset(last);
    await commit(last);
    await heartbeat();
  }
}
