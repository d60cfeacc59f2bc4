import { context, SpanKind, trace } from '@opentelemetry/api';
import type { RecordedEvent } from '@herald/contracts';
import { heraldMetrics } from './metrics';
import { contextFromTraceparent, inSpan } from './tracing';
import { dispatchChannel, runInDelivery } from './delivery-context';

const groups = new Map<string, readonly string[]>();

/** The consumer groups of this process and their topics (the lag probes read them). */
export function registerConsumerGroup(group: string, topics: readonly string[]): void {
  groups.set(group, topics);
}

export function consumerGroups(): ReadonlyMap<string, readonly string[]> {
  return groups;
}

/**
 * Wraps a bus handler: the delivery runs in a CONSUMER span whose parent is
 * the trace context that came with the message (the Kafka `traceparent`
 * header, made active by the bus, or the event's metadata on the embedded
 * bus), and is counted per group, topic and result.
 */
export function observeDelivery(
  group: string,
  handler: (event: RecordedEvent, topic: string) => Promise<void>,
): (event: RecordedEvent, topic: string) => Promise<void> {
  return async (event, topic) => {
    const run = () => runInDelivery({ group, topic }, () => handler(event, topic));
    const parent = trace.getSpanContext(context.active()) ? context.active() : contextFromTraceparent(event.metadata.traceparent);
    try {
      if (!trace.getSpanContext(parent)) await run();
      else {
        await inSpan(`${topic} process`, {
          kind: SpanKind.CONSUMER,
          parent,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'process',
            'messaging.destination.name': topic,
            'messaging.consumer.group.name': group,
            'herald.event_type': event.type,
            'herald.stream_id': event.streamId,
            'herald.position': event.position,
          },
        }, run);
      }
      heraldMetrics.consumerHandled.inc({ group, topic, result: 'ok' });
    } catch (error) {
      heraldMetrics.consumerHandled.inc({ group, topic, result: 'error' });
      const channel = dispatchChannel(topic);
      if (channel) heraldMetrics.sendErrors.inc({ channel });
      throw error;
    }
  };
}
