import type { RecordedEvent } from '@herald/contracts';
import { HEADERS } from '@herald/contracts';

/** The JSON value of every message: the recorded event, self-contained (headers only repeat it). */
export interface WireEvent {
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: RecordedEvent['metadata'];
}

export interface EncodedMessage {
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/**
 * Key = stream id, so every event of a stream lands in one partition and
 * stays ordered. Headers let outside consumers route and trace without
 * parsing the value.
 */
export function encodeEvent(event: RecordedEvent): EncodedMessage {
  const wire: WireEvent = {
    streamId: event.streamId,
    revision: event.revision,
    position: event.position,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
  };
  const m = event.metadata;
  const headers: Record<string, string> = {
    [HEADERS.eventId]: m.eventId,
    [HEADERS.eventType]: event.type,
    [HEADERS.position]: String(event.position),
    [HEADERS.streamId]: event.streamId,
    [HEADERS.revision]: String(event.revision),
    [HEADERS.schemaVersion]: String(m.schemaVersion ?? 1),
    [HEADERS.workspaceId]: m.workspaceId,
    [HEADERS.correlationId]: m.correlationId,
  };
  if (m.causationId) headers[HEADERS.causationId] = m.causationId;
  if (m.traceparent) headers[HEADERS.traceparent] = m.traceparent;
  return { key: event.streamId, value: JSON.stringify(wire), headers };
}

/** Reads a message value back into the event the store recorded. Throws on a value that is not one of ours. */
export function decodeEvent(value: Buffer | string | null): RecordedEvent {
  if (value === null) throw new Error('message without a value');
  const wire = JSON.parse(typeof value === 'string' ? value : value.toString('utf8')) as Partial<WireEvent>;
  if (typeof wire.streamId !== 'string' || typeof wire.type !== 'string' || typeof wire.revision !== 'number' || typeof wire.position !== 'number' || !wire.metadata) {
    throw new Error('message value is not a Herald event');
  }
  return {
    type: wire.type,
    data: wire.data,
    metadata: wire.metadata,
    streamId: wire.streamId,
    revision: wire.revision,
    position: wire.position,
  };
}

/** Whether a message may be passed over unread: it names its event type (header) and the type is not wanted. */
export function unwanted(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined, wanted: ReadonlySet<string> | null | undefined): boolean {
  if (!wanted) return false;
  const type = headers?.[HEADERS.eventType];
  return type !== undefined && !Array.isArray(type) && !wanted.has(type.toString());
}
