import type { RecordedEvent } from '@herald/contracts';
import type { EventStore, Subscription, SubscriptionOptions } from './event-store';

interface Checkpoints {
  load(): Promise<number>;
  save(position: number): Promise<void>;
}

/**
 * A catch-up subscription over the global log: reads after the durable
 * checkpoint, hands batches to the handler in order, and moves the checkpoint
 * only after the handler resolved (at least once). Woken by NOTIFY when the
 * store offers it, with a poll as the floor.
 */
export class PollingSubscription implements Subscription {
  private position = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private pending = false;
  private loop: Promise<void> = Promise.resolve();
  private waiters: { target: number; resolve: () => void }[] = [];
  private unlisten: (() => Promise<void>) | null = null;

  private constructor(
    private readonly store: EventStore,
    private readonly checkpoints: Checkpoints,
    private readonly options: SubscriptionOptions,
    private readonly pollIntervalMs: number,
    private readonly scanWindow: number,
  ) {}

  static async start(args: {
    store: EventStore;
    checkpoints: Checkpoints;
    options: SubscriptionOptions;
    pollIntervalMs: number;
    /**
     * Positions one read covers at most, for a store whose positions are dense (one per event, as in
     * PostgreSQL); none for a store whose positions are byte offsets (EventStoreDB).
     */
    scanWindow?: number;
    listen?: (onNotify: () => void) => Promise<() => Promise<void>>;
  }): Promise<PollingSubscription> {
    const sub = new PollingSubscription(args.store, args.checkpoints, args.options, args.pollIntervalMs, args.scanWindow ?? Infinity);
    sub.position = await args.checkpoints.load();
    if (args.listen) {
      try {
        sub.unlisten = await args.listen(() => sub.notify());
      } catch {
        // LISTEN is an optimisation; polling alone is correct.
      }
    }
    sub.loop = sub.run();
    return sub;
  }

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  async caughtUp(): Promise<void> {
    const target = await this.store.headPosition();
    if (this.position >= target) return;
    await new Promise<void>((resolve) => {
      this.waiters.push({ target, resolve });
      this.notify();
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.unlisten?.();
  }

  private async run(): Promise<void> {
    const batchSize = this.options.batchSize ?? 500;
    const scanWindow = Math.max(this.scanWindow, batchSize * 4);
    // The window of the next read: twice the positions the last full page took, up to scanWindow
    // (a page of a dense group reads about 2 pages' rows, not the whole window).
    let span = scanWindow;
    let failures = 0;
    let behind = false;
    while (!this.stopped) {
      let events: RecordedEvent[] = [];
      try {
        this.pending = false;
        const head = await this.store.headPosition();
        // One read scans a bounded window of the log, whatever the filters match: a group that wants
        // few of the events (one type among many) would otherwise scan the whole backlog on every page.
        const until = Math.min(head, this.position + span);
        events = await this.store.readAll({
          after: this.position, until, maxCount: batchSize, streamPrefixes: this.options.streamPrefixes, types: this.options.types,
        });
        if (events.length) await this.options.handler(events);
        // A short page holds everything of ours up to `until` (appends commit in position order, and
        // the head was read before): skip over the rest, so it is not scanned again.
        const full = events.length === batchSize;
        const next = full ? events[events.length - 1].position : until;
        span = full ? Math.min(scanWindow, Math.max(batchSize, 2 * (next - this.position))) : Math.min(scanWindow, 2 * span);
        behind = next < head;
        if (next > this.position) {
          this.position = next;
          await this.checkpoints.save(this.position);
        }
        failures = 0;
        this.resolveWaiters();
      } catch (error) {
        failures += 1;
        this.options.onError?.(error);
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      if (!behind && !this.pending) await this.sleep(this.pollIntervalMs);
    }
  }

  private resolveWaiters(): void {
    this.waiters = this.waiters.filter((w) => {
      if (this.position >= w.target) w.resolve();
      return this.position < w.target;
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
