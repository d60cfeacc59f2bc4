import type { Pool, PoolClient } from 'pg';
import { WAKE_CHANNEL } from './schema';

/**
 * LISTENs for the projection's wake-ups (distributed mode): the replica that
 * projects a timer is not always the one whose loop sleeps on it. A lost
 * connection is replaced; meanwhile the loops still wake at least every
 * maxSleepMs, so a missed notification delays, never loses, a start.
 */
export class WakeListener {
  private client: PoolClient | null = null;
  private closed = false;

  constructor(private readonly pool: Pool, private readonly onWake: (dueMs: number) => void, private readonly onError: (e: unknown) => void = () => undefined) {}

  async start(): Promise<void> {
    try {
      const client = await this.pool.connect();
      this.client = client;
      client.on('notification', (n) => {
        if (n.channel === WAKE_CHANNEL) this.onWake(Number(n.payload ?? 0));
      });
      client.on('error', (e) => this.retry(e));
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch (error) {
      this.retry(error);
    }
  }

  private retry(error: unknown): void {
    this.onError(error);
    this.client?.release(true);
    this.client = null;
    if (!this.closed) setTimeout(() => void this.start(), 1000).unref();
  }

  async stop(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    if (!client) return;
    await client.query(`UNLISTEN ${WAKE_CHANNEL}`).catch(() => undefined);
    client.release();
  }
}
