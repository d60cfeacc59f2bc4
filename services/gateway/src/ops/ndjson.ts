import type { RecordedEvent } from '@herald/contracts';

/** One replayed event per line: the recorded event as the store holds it, position first. */
export function toReplayLine(e: RecordedEvent): string {
  return JSON.stringify({ position: e.position, streamId: e.streamId, revision: e.revision, type: e.type, data: e.data, metadata: e.metadata }) + '\n';
}
