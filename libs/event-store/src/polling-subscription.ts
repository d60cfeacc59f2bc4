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
  ) {}

  static async start(args: {
    store: EventStore;
    checkpoints: Checkpoints;
    options: SubscriptionOptions;
    pollIntervalMs: number;
    listen?: (onNotify: () => void) => Promise<() => Promise<void>>;
  }): Promise<PollingSubscription> {
    const sub = new PollingSubscription(args.store, args.checkpoints, args.options, args.pollIntervalMs);
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
    let failures = 0;
    while (!this.stopped) {
      let events: RecordedEvent[] = [];
      try {
        this.pending = false;
        const head = await this.store.headPosition();
        events = await this.store.readAll({ after: this.position, maxCount: batchSize, streamPrefixes: this.options.streamPrefixes });
        if (events.length) {
          await this.options.handler(events);
          this.position = events[events.length - 1].position;
          await this.checkpoints.save(this.position);
        } else if (head > this.position) {
          // Nothing of ours up to the head: skip ahead so caughtUp() resolves.
          this.position = head;
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
      if (events.length < batchSize && !this.pending) await this.sleep(this.pollIntervalMs);
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
