import type { Event, MetadataInput, RecordedEvent } from '@herald/contracts';
import { buildMetadata, DomainError } from '@herald/contracts';
import { WrongExpectedRevisionError, type EventStore } from './event-store';

/**
 * Load, decide, append with the expected revision; on a concurrent change,
 * reload and decide again (after a short random pause, so that writers racing
 * for one stream spread out). The shell around every command handler. A
 * command still losing the race after `retries` attempts fails with a
 * DomainError 'conflict' (HTTP 409, "try again"), never a bare store error.
 */
export async function executeCommand<S, C extends { type: string; data: unknown }>(args: {
  store: EventStore;
  streamId: string;
  rebuild: (events: RecordedEvent[]) => S | null;
  decide: (state: S | null) => readonly C[];
  metadata: MetadataInput | ((change: C, index: number) => MetadataInput);
  retries?: number;
}): Promise<{ state: S | null; events: RecordedEvent[] }> {
  const retries = args.retries ?? 5;
  for (let attempt = 0; ; attempt++) {
    const history = await args.store.readStream(args.streamId);
    const state = args.rebuild(history);
    const changes = args.decide(state);
    if (changes.length === 0) return { state, events: history };
    const revision = history.length ? history[history.length - 1].revision : 'no_stream';
    const events: Event[] = changes.map((c, i) => ({
      type: c.type,
      data: c.data,
      metadata: buildMetadata(typeof args.metadata === 'function' ? args.metadata(c, i) : { ...args.metadata }),
    }));
    try {
      await args.store.append(args.streamId, events, revision);
      const after = await args.store.readStream(args.streamId, { fromRevision: history.length });
      const all = [...history, ...after];
      return { state: args.rebuild(all), events: all };
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      if (attempt >= retries) {
        throw new DomainError('conflict', `${args.streamId} was changed by other requests at the same time, ${attempt + 1} times while this one ran: try again`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));
    }
  }
}
