import type { Pool } from 'pg';
import { topicsFor, type RecordedEvent } from '@herald/contracts';
import type { EventStore, Subscription } from '@herald/event-store';
import type { EventPublisher } from './bus';
import { LeaderLock } from './leader-lock';

export interface RelayOptions {
  readonly store: EventStore;
  readonly publisher: EventPublisher;
  /** PostgreSQL pool for the leader lock (one connection is held while running). */
  readonly pool: Pool;
  /** Names the checkpoint ('relay:<name>') and the lock; default 'default'. */
  readonly name?: string;
  readonly batchSize?: number;
  /** How often a follower tries to become leader (default 1 s). */
  readonly retryMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface RelayHandle {
  stop(): Promise<void>;
  isLeader(): boolean;
  /**
   * Resolves when everything appended before the call has been published.
   * Waits for this instance to lead; on a follower it resolves only after a take-over.
   */
  caughtUp(): Promise<void>;
}

/** The messages of one batch: every event to every topic it belongs to, in global order. */
export function relayMessages(events: readonly RecordedEvent[]): { topic: string; event: RecordedEvent }[] {
  return events.flatMap((event) => topicsFor(event).map((topic) => ({ topic, event })));
}

/**
 * The outbox relay: the event store's global log is the outbox, published
 * batch by batch from a durable checkpoint that moves only after the
 * publisher acknowledged (at least once; a crash between the two republishes
 * the batch, which idempotent consumers absorb). One leader across processes.
 */
export class Relay implements RelayHandle {
  private subscription: Subscription | null = null;
  private lock!: LeaderLock;
  private stopped = false;
  private leaderWaiters: (() => void)[] = [];

  private constructor(private readonly options: RelayOptions) {}

  static async start(options: RelayOptions): Promise<RelayHandle> {
    const relay = new Relay(options);
    const name = options.name ?? 'default';
    relay.lock = new LeaderLock({
      pool: options.pool,
      key: `herald-relay:${name}`,
      retryMs: options.retryMs,
      onElected: () => relay.lead(name),
      onDeposed: () => relay.follow(),
      onError: options.onError,
    });
    relay.lock.start();
    return relay;
  }

  isLeader(): boolean {
    return this.lock.isLeader() && this.subscription !== null;
  }

  async caughtUp(): Promise<void> {
    for (;;) {
      if (this.stopped) throw new Error('relay stopped');
      const sub = this.subscription;
      if (sub) return sub.caughtUp();
      await new Promise<void>((resolve) => this.leaderWaiters.push(resolve));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.lock.stop();
    this.wakeWaiters();
  }

  private async lead(name: string): Promise<void> {
    const { store, publisher } = this.options;
    this.subscription = await store.subscribe({
      name: `relay:${name}`,
      batchSize: this.options.batchSize ?? 500,
      handler: async (events) => {
        const messages = relayMessages(events);
        if (messages.length) await publisher.publish(messages);
      },
      onError: this.options.onError,
    });
    this.wakeWaiters();
  }

  private async follow(): Promise<void> {
    const sub = this.subscription;
    this.subscription = null;
    await sub?.close();
  }

  private wakeWaiters(): void {
    const waiters = this.leaderWaiters;
    this.leaderWaiters = [];
    for (const w of waiters) w();
  }
}
