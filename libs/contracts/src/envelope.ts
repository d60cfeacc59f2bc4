/**
 * An event as the domain writes it: a read-only plain object named in the past
 * tense. `type` strings are a stored contract: written out literally, never
 * derived from class names.
 */
export interface EventMetadata {
  readonly eventId: string;
  readonly workspaceId: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly schemaVersion: number;
  /** ISO-8601 UTC time the event was created. */
  readonly timestamp: string;
  /** W3C trace context of the request that caused the event, when traced. */
  readonly traceparent?: string;
  readonly [extra: string]: unknown;
}

export interface Event<TType extends string = string, TData = unknown> {
  readonly type: TType;
  readonly data: TData;
  readonly metadata: EventMetadata;
}

/** An event as the store returns it: with its stream, revision and global position. */
export type RecordedEvent<E extends Event = Event> = E & {
  readonly streamId: string;
  /** 0-based position of the event inside its stream. */
  readonly revision: number;
  /** Position in the store's global log; strictly increasing in commit order. */
  readonly position: number;
};

/** What a caller passes to build metadata; ids and time are filled in when absent. */
export interface MetadataInput {
  eventId?: string;
  workspaceId: string;
  correlationId?: string;
  causationId?: string | null;
  schemaVersion?: number;
  timestamp?: string;
  traceparent?: string;
  [extra: string]: unknown;
}
