import type { RecordedEvent } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';

/**
 * The log from a position, page by page, with the next page already on its
 * way while the caller folds the current one: the database produces rows
 * on one core while the projection runs on the other.
 */
export async function* replayLog(
  store: EventStore,
  options: { after: number; until?: number; pageSize?: number; streamPrefixes?: readonly string[] },
): AsyncGenerator<RecordedEvent[]> {
  const pageSize = options.pageSize ?? 10_000;
  const until = options.until ?? Number.MAX_SAFE_INTEGER;
  const read = (after: number) => store.readAll({ after, maxCount: pageSize, streamPrefixes: options.streamPrefixes });
  let pending: Promise<RecordedEvent[]> | null = options.after < until ? read(options.after) : null;
  while (pending) {
    const page = await pending;
    if (!page.length) return;
    const last = page[page.length - 1].position;
    pending = page.length === pageSize && last < until ? read(last) : null;
    const mine = last <= until ? page : page.filter((e) => e.position <= until);
    if (mine.length) yield mine;
    if (last >= until) {
      await pending?.catch(() => undefined);
      return;
    }
  }
}
