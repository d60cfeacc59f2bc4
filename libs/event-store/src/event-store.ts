import type { Event, RecordedEvent } from '@herald/contracts';

/**
 * Expected revision of a stream at append time (optimistic concurrency).
 * A number is the revision of the stream's last event (0-based), as in
 * EventStoreDB; 'no_stream' means the stream must not exist yet.
 */
export type ExpectedRevision = number | 'no_stream' | 'stream_exists' | 'any';

export interface AppendResult {
  /** Revision of the last event of the stream after the append. */
  readonly nextRevision: number;
  /** Global position of the last event appended (or of the already stored one). */
  readonly position: number;
  /** True when every event id was already stored: nothing was written. */
  readonly duplicate: boolean;
}

export interface StreamAppend {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly Event[];
}

export interface ReadAllOptions {
  /** Read events whose position is strictly greater than this (0 = from the start). */
  readonly after: number;
  /** And not greater than this: bounds the part of the log one read scans when the filters match little of it. */
  readonly until?: number;
  readonly maxCount: number;
  /** Only streams whose id starts with one of these prefixes (e.g. 'contact-'). */
  readonly streamPrefixes?: readonly string[];
  /** Only events of these types (the store filters before anything is decoded). */
  readonly types?: readonly string[];
}

export interface SubscriptionOptions {
  /** Durable checkpoint name: a restarted subscription resumes after the last acknowledged position. */
  readonly name: string;
  readonly streamPrefixes?: readonly string[];
  /** Only events of these types reach the handler; the checkpoint passes over the others. */
  readonly types?: readonly string[];
  readonly batchSize?: number;
  /** Called with events in global order; the checkpoint moves only after it resolves. */
  readonly handler: (events: readonly RecordedEvent[]) => Promise<void>;
  readonly onError?: (error: unknown) => void;
}

export interface Subscription {
  /** Resolves when everything appended before the call has been handled. */
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Thrown when the stream's revision differs from the expected one. The
 * caller reloads the stream, decides again and retries.
 */
export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/**
 * The event store port. Shaped after EventStoreDB's model (streams with
 * revisions, an $all log with positions, catch-up subscriptions) so that the
 * PostgreSQL implementation and the @eventstore/db-client adapter both fit.
 */
export interface EventStore {
  append(streamId: string, events: readonly Event[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /**
   * Appends to several streams. Atomic on PostgreSQL (one transaction); the
   * EventStoreDB adapter appends stream by stream. Idempotent per stream by event id.
   */
  appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  /** Events of one stream in revision order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: { fromRevision?: number; maxCount?: number }): Promise<RecordedEvent[]>;
  /** Several whole streams at once (one round trip where the store allows); optional, see readStreams(). */
  readStreams?(streamIds: readonly string[]): Promise<Map<string, RecordedEvent[]>>;
  readAll(options: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Position of the last event in the global log (0 when empty). */
  headPosition(): Promise<number>;
  subscribe(options: SubscriptionOptions): Promise<Subscription>;
  close(): Promise<void>;
}

/** Whole streams by id: the store's batched read when it has one, else one read per stream. */
export async function readStreams(store: EventStore, streamIds: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
  if (store.readStreams) return store.readStreams(streamIds);
  const all = await Promise.all(streamIds.map(async (id) => [id, await store.readStream(id)] as const));
  return new Map(all);
}
