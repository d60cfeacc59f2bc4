import type { Pool, PoolClient } from 'pg';

export interface LeaderLockOptions {
  readonly pool: Pool;
  /** Lock key; hashed with hashtext() into the advisory lock id. */
  readonly key: string;
  readonly retryMs?: number;
  /** How often the leader pings its lock connection to notice that it died. */
  readonly checkMs?: number;
  readonly onElected: () => Promise<void>;
  /** Called when leadership ends: stepped down, connection lost, or stopping. */
  readonly onDeposed: () => Promise<void>;
  readonly onError?: (error: unknown) => void;
}

/**
 * Leader election on a PostgreSQL session-level advisory lock held on a
 * dedicated connection: the lock lives exactly as long as that session, so
 * a crashed leader (closed or killed connection) frees it for the others,
 * which try again every `retryMs`.
 */
export class LeaderLock {
  private client: PoolClient | null = null;
  private leader = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaderLockOptions) {}

  start(): void {
    this.schedule(0);
  }

  isLeader(): boolean {
    return this.leader;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.depose(true);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule(this.leader ? this.options.checkMs ?? 1000 : this.options.retryMs ?? 1000));
    }, ms);
  }

  private async tick(): Promise<void> {
    try {
      if (this.leader) {
        // A dead session means the lock is gone and someone else may lead now.
        await this.client!.query('select 1');
        return;
      }
      if (!this.client) {
        const client = await this.options.pool.connect();
        // Without a listener an error on this idle, checked-out client would crash the process.
        client.on('error', (error) => {
          this.options.onError?.(error);
          void this.lost(client);
        });
        this.client = client;
      }
      const { rows } = await this.client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [this.options.key]);
      if (rows[0].locked && !this.stopped) {
        this.leader = true;
        await this.options.onElected();
      } else if (rows[0].locked) {
        await this.client.query('select pg_advisory_unlock(hashtext($1))', [this.options.key]);
      }
    } catch (error) {
      this.options.onError?.(error);
      if (this.client) await this.lost(this.client);
    }
  }

  /** The lock connection failed: leadership is gone with it. */
  private async lost(client: PoolClient): Promise<void> {
    if (this.client !== client) return;
    await this.depose(false);
  }

  private async depose(unlock: boolean): Promise<void> {
    const client = this.client;
    const wasLeader = this.leader;
    this.client = null;
    this.leader = false;
    if (wasLeader) await this.options.onDeposed().catch((e) => this.options.onError?.(e));
    if (!client) return;
    if (unlock && wasLeader) {
      try {
        await client.query('select pg_advisory_unlock(hashtext($1))', [this.options.key]);
        client.release();
        return;
      } catch {
        // fall through: destroy the session, which frees the lock anyway
      }
    }
    // Destroying (not returning) the connection ends the session and any lock it held.
    client.release(true);
  }
}
