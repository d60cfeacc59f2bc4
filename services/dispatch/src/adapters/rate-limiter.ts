/**
 * Provider rate limits (WhatsApp 80 msg/s per number, Telegram 1 msg/s per
 * chat and 30/s per bot, Twilio 1 call/s per number): a GCRA bucket per key.
 * A caller reserves its slot synchronously and then waits, so callers are
 * served in arrival order and nothing is dropped. Per process: replicas each
 * keep their own buckets (run one dispatch replica per sending number, or
 * lower the configured rate, when that matters).
 */
export class RateLimiter {
  private readonly tat = new Map<string, number>();
  private takes = 0;

  /** Waits for the next slot of `key`; `burst` slots may go at once after a quiet period (default: one second's worth). */
  async take(key: string, perSecond: number, burst = Math.max(1, Math.floor(perSecond))): Promise<void> {
    const wait = this.reserve(key, perSecond, burst);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** Reserves the next slot of `key` and says how long to wait for it (ms). */
  reserve(key: string, perSecond: number, burst = Math.max(1, Math.floor(perSecond)), now = Date.now()): number {
    const interval = 1000 / perSecond;
    const tolerance = interval * (burst - 1);
    const tat = Math.max(this.tat.get(key) ?? now, now);
    this.tat.set(key, tat + interval);
    if (++this.takes % 10_000 === 0) this.prune(now);
    return Math.max(0, tat - tolerance - now);
  }

  /** The provider said "too many requests, retry after": nobody on this key goes before then. */
  pause(key: string, ms: number, perSecond: number, burst = Math.max(1, Math.floor(perSecond))): void {
    const tolerance = (1000 / perSecond) * (burst - 1);
    this.tat.set(key, Math.max(this.tat.get(key) ?? 0, Date.now() + ms + tolerance));
  }

  private prune(now: number): void {
    for (const [k, t] of this.tat) if (t < now - 60_000) this.tat.delete(k);
  }
}

export const sharedRateLimiter = new RateLimiter();
