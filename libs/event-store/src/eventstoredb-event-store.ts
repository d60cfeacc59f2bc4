import {
  ANY, BACKWARDS, END, EventStoreDBClient, FORWARDS, jsonEvent, NO_STREAM, START, STREAM_EXISTS,
  StreamNotFoundError, WrongExpectedVersionError,
  type AllStreamResolvedEvent, type AppendExpectedRevision, type ReadPosition, type ResolvedEvent,
} from '@eventstore/db-client';
import type { Event, EventMetadata, RecordedEvent } from '@herald/contracts';
import {
  WrongExpectedRevisionError,
  type AppendResult, type EventStore, type ExpectedRevision, type ReadAllOptions, type StreamAppend, type Subscription, type SubscriptionOptions,
} from './event-store';
import { PollingSubscription } from './polling-subscription';

/** Streams where subscriptions keep their checkpoints; not part of Herald's history. */
export const CHECKPOINT_STREAM_PREFIX = 'herald-checkpoint-';
const PAGE = 500;

/** Our expected revision in the client's terms (EventStoreDB revisions are 0-based too). */
export function toExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  if (expected === 'no_stream') return NO_STREAM;
  if (expected === 'stream_exists') return STREAM_EXISTS;
  if (expected === 'any') return ANY;
  return BigInt(expected);
}

/** Our event as EventStoreDB stores it: the event id is the envelope's (EventStoreDB deduplicates on it). */
export function toEventData(event: Event) {
  return jsonEvent({ id: event.metadata.eventId, type: event.type, data: event.data as Record<string, unknown>, metadata: event.metadata as unknown as Record<string, unknown> });
}

/**
 * The global position of an event: its prepare position in the transaction
 * log, unique per event and increasing in log order (events written together
 * share a commit position, so that one cannot be the key).
 */
export function positionOf(resolved: { event?: { position?: { prepare: bigint } } }): number {
  const p = resolved.event?.position?.prepare;
  if (p === undefined) throw new Error('event without a log position');
  return Number(p);
}

/** Herald's events only: no system events ($-types or $-streams), no link events, no checkpoint streams. */
export function isHeraldEvent(resolved: { event?: { streamId: string; type: string; isJson: boolean } }): boolean {
  const e = resolved.event;
  return !!e && e.isJson && !e.type.startsWith('$') && !e.streamId.startsWith('$') && !e.streamId.startsWith(CHECKPOINT_STREAM_PREFIX);
}

export function toRecorded(resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent {
  const e = resolved.event!;
  return {
    type: e.type,
    data: e.data,
    metadata: e.metadata as unknown as EventMetadata,
    streamId: e.streamId,
    revision: Number(e.revision),
    position: positionOf(resolved),
  };
}

export function fromWrongExpectedVersion(error: WrongExpectedVersionError, expected: ExpectedRevision): WrongExpectedRevisionError {
  const actual = typeof error.actualVersion === 'bigint' ? Number(error.actualVersion) : 'no_stream';
  return new WrongExpectedRevisionError(error.streamName, expected, actual);
}

export function matchesPrefixes(streamId: string, prefixes: readonly string[] | undefined): boolean {
  return !prefixes || prefixes.some((p) => streamId.startsWith(p));
}

/**
 * The EventStore port on EventStoreDB (@eventstore/db-client). What differs
 * from PostgreSQL (docs/operations.md, "Running on EventStoreDB"):
 * - positions are log positions: increasing, not dense;
 * - appendMany checks every stream's expected revision first and then
 *   appends stream by stream: a concurrent writer between the check and the
 *   write can leave an earlier stream written and a later one refused;
 * - subscriptions poll $all and keep their checkpoint in a
 *   `herald-checkpoint-<name>` stream (max one event kept).
 */
export class EventStoreDbEventStore implements EventStore {
  private constructor(private readonly client: EventStoreDBClient, private readonly pollIntervalMs: number) {}

  static connect(connectionString: string, options: { pollIntervalMs?: number } = {}): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString), options.pollIntervalMs ?? 250);
  }

  async append(streamId: string, events: readonly Event[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const [result] = await this.appendMany([{ streamId, events, expectedRevision }]);
    return result;
  }

  async appendMany(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const ids = appends.map((a) => a.streamId);
    if (new Set(ids).size !== ids.length) throw new Error('appendMany: a stream may appear only once per call');
    // Duplicates and expectations first, so a refused batch writes nothing (short of a concurrent writer).
    const plans = await Promise.all(appends.map(async (a) => ({ append: a, duplicate: await this.storedDuplicate(a) })));
    for (const { append, duplicate } of plans) {
      if (duplicate || !append.events.length) continue;
      const actual = await this.currentRevision(append.streamId);
      const e = append.expectedRevision;
      const ok = e === 'any' || (e === 'no_stream' && actual === null) || (e === 'stream_exists' && actual !== null) || (typeof e === 'number' && actual === e);
      if (!ok) throw new WrongExpectedRevisionError(append.streamId, e, actual ?? 'no_stream');
    }
    const results: AppendResult[] = [];
    for (const { append, duplicate } of plans) {
      if (duplicate) {
        results.push(duplicate);
        continue;
      }
      if (!append.events.length) {
        results.push({ nextRevision: (await this.currentRevision(append.streamId)) ?? -1, position: 0, duplicate: false });
        continue;
      }
      try {
        const r = await this.client.appendToStream(append.streamId, append.events.map(toEventData), { expectedRevision: toExpectedRevision(append.expectedRevision) });
        const last = await this.readStream(append.streamId, { fromRevision: Number(r.nextExpectedRevision), maxCount: 1 });
        results.push({ nextRevision: Number(r.nextExpectedRevision), position: last[0]?.position ?? Number(r.position?.prepare ?? 0), duplicate: false });
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) throw fromWrongExpectedVersion(error, append.expectedRevision);
        throw error;
      }
    }
    return results;
  }

  /** An append whose first event id is already in the stream: answered with the stored revisions, nothing written. */
  private async storedDuplicate(append: StreamAppend): Promise<AppendResult | null> {
    if (!append.events.length) return null;
    const firstId = append.events[0].metadata.eventId;
    const from = typeof append.expectedRevision === 'number' ? append.expectedRevision + 1 : append.expectedRevision === 'no_stream' ? 0 : null;
    const candidates = from !== null
      ? await this.readStream(append.streamId, { fromRevision: from, maxCount: 1 })
      : await this.readBackwards(append.streamId, PAGE);
    const hit = candidates.find((e) => e.metadata.eventId === firstId);
    if (!hit) return null;
    const n = append.events.length;
    const lastOfAppend = await this.readStream(append.streamId, { fromRevision: hit.revision + n - 1, maxCount: 1 });
    return { nextRevision: hit.revision + n - 1, position: lastOfAppend[0]?.position ?? hit.position, duplicate: true };
  }

  private async currentRevision(streamId: string): Promise<number | null> {
    const last = await this.readBackwards(streamId, 1);
    return last.length ? last[0].revision : null;
  }

  private async readBackwards(streamId: string, maxCount: number): Promise<RecordedEvent[]> {
    try {
      const out: RecordedEvent[] = [];
      for await (const e of this.client.readStream(streamId, { direction: BACKWARDS, fromRevision: END, maxCount })) if (e.event) out.push(toRecorded(e));
      return out;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  async readStream(streamId: string, options: { fromRevision?: number; maxCount?: number } = {}): Promise<RecordedEvent[]> {
    try {
      const out: RecordedEvent[] = [];
      const events = this.client.readStream(streamId, {
        direction: FORWARDS,
        fromRevision: options.fromRevision ? BigInt(options.fromRevision) : START,
        maxCount: options.maxCount ?? 1_000_000,
      });
      for await (const e of events) if (e.event) out.push(toRecorded(e));
      return out;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    const out: RecordedEvent[] = [];
    let from: ReadPosition = options.after > 0 ? { commit: BigInt(options.after), prepare: BigInt(options.after) } : START;
    for (;;) {
      let read = 0;
      let last: number | null = null;
      for await (const e of this.client.readAll({ direction: FORWARDS, fromPosition: from, maxCount: PAGE, resolveLinkTos: false })) {
        read += 1;
        if (!e.event) continue;
        const position = positionOf(e);
        last = position;
        if (options.until !== undefined && position > options.until) return out;
        // Reading from a position includes the event at it: "after" excludes it.
        if (position <= options.after || !isHeraldEvent(e) || !matchesPrefixes(e.event.streamId, options.streamPrefixes) || (options.types && !options.types.includes(e.event.type))) continue;
        out.push(toRecorded(e));
        if (out.length >= options.maxCount) return out;
      }
      if (read < PAGE || last === null) return out;
      from = { commit: BigInt(last), prepare: BigInt(last) };
      options = { ...options, after: last };
    }
  }

  async headPosition(): Promise<number> {
    let from: ReadPosition = END;
    for (;;) {
      let read = 0;
      let last: { commit: bigint; prepare: bigint } | null = null;
      for await (const e of this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: PAGE, resolveLinkTos: false })) {
        read += 1;
        if (e.event?.position) last = e.event.position;
        if (isHeraldEvent(e)) return positionOf(e);
      }
      if (read < PAGE || !last) return 0;
      from = last;
    }
  }

  async subscribe(options: SubscriptionOptions): Promise<Subscription> {
    const stream = `${CHECKPOINT_STREAM_PREFIX}${options.name}`;
    const checkpoints = {
      load: async () => {
        const [last] = await this.readBackwards(stream, 1);
        return last ? Number((last.data as { position: number }).position) : 0;
      },
      save: async (position: number) => {
        const result = await this.client.appendToStream(stream, jsonEvent({ type: 'CheckpointSaved', data: { position } }));
        // Only the latest checkpoint matters: let the server scavenge the rest.
        if (result.nextExpectedRevision === 0n) await this.client.setStreamMetadata(stream, { maxCount: 1 });
      },
    };
    return PollingSubscription.start({ store: this, checkpoints, options, pollIntervalMs: this.pollIntervalMs });
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}
