import { context, SpanKind, trace } from '@opentelemetry/api';
import type { Event } from '@herald/contracts';
import type { AppendResult, EventStore, StreamAppend } from '@herald/event-store';
import { heraldMetrics, streamCategory } from './metrics';
import { contextFromTraceparent, currentTraceparent, inSpan } from './tracing';
import { currentDelivery, dispatchChannel } from './delivery-context';

/**
 * The event store as services see it: every append runs in a span (a child
 * of the active one, or, in background work such as the scheduler's timer
 * loop, of the trace its events already carry) and stamps that span's
 * `traceparent` on the events, which the relay copies into the Kafka
 * header. Counts appended events, and sends per channel when the append
 * ends a communication inside a dispatch delivery.
 */
export function instrumentEventStore(store: EventStore, serviceName: string): EventStore {
  const appendMany = async (appends: readonly StreamAppend[]): Promise<AppendResult[]> => {
    const active = trace.getSpanContext(context.active());
    const carried = firstTraceparent(appends);
    let results: AppendResult[];
    if (!active && !carried) {
      results = await store.appendMany(appends);
    } else {
      const parent = active ? context.active() : contextFromTraceparent(carried);
      const streams = appends.map((a) => a.streamId);
      results = await inSpan(
        `herald.append ${streamCategory(streams[0] ?? 'empty')}`,
        {
          kind: SpanKind.INTERNAL,
          parent,
          attributes: {
            'herald.service': serviceName,
            'herald.streams': streams.slice(0, 20),
            'herald.event_types': [...new Set(appends.flatMap((a) => a.events.map((e) => e.type)))],
          },
        },
        async () => {
          const traceparent = currentTraceparent();
          return store.appendMany(traceparent ? appends.map((a) => ({ ...a, events: a.events.map((e) => stamp(e, traceparent)) })) : appends);
        },
      );
    }
    count(appends, results);
    return results;
  };

  return {
    append: async (streamId, events, expectedRevision) => (await appendMany([{ streamId, events, expectedRevision }]))[0],
    appendMany,
    readStream: (streamId, options) => store.readStream(streamId, options),
    // Optional in the port: pass the batched read through only where the store has one.
    ...(store.readStreams ? { readStreams: (streamIds: readonly string[]) => store.readStreams!(streamIds) } : {}),
    readAll: (options) => store.readAll(options),
    headPosition: () => store.headPosition(),
    subscribe: (options) => store.subscribe(options),
    close: () => store.close(),
  };
}

function firstTraceparent(appends: readonly StreamAppend[]): string | undefined {
  for (const a of appends) for (const e of a.events) if (e.metadata.traceparent) return e.metadata.traceparent;
  return undefined;
}

function stamp(event: Event, traceparent: string): Event {
  return { ...event, metadata: { ...event.metadata, traceparent } };
}

function count(appends: readonly StreamAppend[], results: readonly AppendResult[]): void {
  const byKey = new Map<string, { category: string; type: string; n: number }>();
  const channel = dispatchChannel(currentDelivery()?.topic);
  appends.forEach((a, i) => {
    if (results[i]?.duplicate) return;
    const category = streamCategory(a.streamId);
    for (const e of a.events) {
      const key = `${category}\u0000${e.type}`;
      const entry = byKey.get(key) ?? { category, type: e.type, n: 0 };
      entry.n += 1;
      byKey.set(key, entry);
      if (channel && e.type === 'CommunicationEnded') {
        const status = String((e.data as { status?: unknown }).status ?? 'UNKNOWN');
        heraldMetrics.sends.inc({ channel, status });
        if (status === 'ERROR') heraldMetrics.sendErrors.inc({ channel });
      }
    }
  });
  for (const { category, type, n } of byKey.values()) heraldMetrics.eventsAppended.inc({ category, type }, n);
}
