import { randomUUID } from 'node:crypto';
import { parse as parseUuid, v5 as uuidv5 } from 'uuid';
import type { Event, EventMetadata, MetadataInput } from './envelope';

const HERALD_NAMESPACE = '6f1d8a52-3c1e-4b8e-9a57-2f0c1f7d4e10';
/** Parsed once: given a string, uuid parses the namespace on every call. */
const HERALD_NAMESPACE_BYTES = parseUuid(HERALD_NAMESPACE);

/**
 * A deterministic event id: the same cause and index always give the same id,
 * so a retried handler appends the same ids and the store answers "duplicate".
 */
export function deterministicEventId(cause: string, index = 0): string {
  // UTF-8 bytes, as uuid would make them from the string (its own conversion is several times slower).
  return uuidv5(Buffer.from(`${cause}#${index}`, 'utf8'), HERALD_NAMESPACE_BYTES);
}

export function buildMetadata(input: MetadataInput): EventMetadata {
  const eventId = input.eventId ?? randomUUID();
  return {
    ...input,
    eventId,
    workspaceId: input.workspaceId,
    correlationId: input.correlationId ?? eventId,
    causationId: input.causationId ?? null,
    schemaVersion: input.schemaVersion ?? 1,
    timestamp: input.timestamp ?? new Date().toISOString(),
  };
}

export function newEvent<T extends string, D>(type: T, data: D, metadata: MetadataInput): Event<T, D> {
  return { type, data, metadata: buildMetadata(metadata) };
}

/** Metadata for events caused by another event: same correlation, causation = that event. */
export function causedBy(cause: Event, extra: Partial<MetadataInput> = {}): MetadataInput {
  return {
    workspaceId: cause.metadata.workspaceId,
    correlationId: cause.metadata.correlationId,
    causationId: cause.metadata.eventId,
    ...(cause.metadata.traceparent ? { traceparent: cause.metadata.traceparent } : {}),
    ...extra,
  };
}
