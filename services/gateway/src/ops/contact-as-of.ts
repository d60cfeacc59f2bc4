import type { ContactState, RecordedEvent } from '@herald/contracts';
import { evolve, type ContactEvent } from '@herald/contact-model';

/**
 * A contact as it was at a moment: its stream replayed up to the last event
 * recorded at or before `at` (event time: metadata.timestamp). Null when the
 * contact did not exist yet. Events are appended in time order per stream,
 * so the first later event ends the replay.
 */
export function contactAsOf(events: readonly RecordedEvent[], at: Date): { state: ContactState | null; applied: number } {
  let state: ContactState | null = null;
  let applied = 0;
  const limit = at.getTime();
  for (const e of events) {
    if (Date.parse(e.metadata.timestamp) > limit) break;
    state = evolve(state, e as RecordedEvent<ContactEvent>);
    applied += 1;
  }
  return { state, applied };
}
