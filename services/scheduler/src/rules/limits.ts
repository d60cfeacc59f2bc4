import type { SchedulingPolicy } from '@herald/contracts';

/**
 * The frequency cap and the rate limits as pure calculators over state that
 * the caller loads (from PostgreSQL when firing, from memory in a dry run).
 */

/** Starts per person (identity) within the cap's rolling period. */
export class CapCounter {
  private readonly periodMs: number;

  constructor(
    private readonly cap: NonNullable<SchedulingPolicy['frequencyCap']>,
    /** identity -> start times (ms) already counted. */
    private readonly starts: Map<string, number[]> = new Map(),
  ) {
    this.periodMs = cap.perHours * 3_600_000;
  }

  /** null when a start is allowed now; else the earliest time a slot frees for every identity. */
  blockedUntil(identities: readonly string[], now: Date): Date | null {
    let until = 0;
    for (const id of identities) {
      const recent = (this.starts.get(id) ?? []).filter((t) => t > now.getTime() - this.periodMs).sort((a, b) => a - b);
      if (recent.length >= this.cap.maxStarts) {
        // The oldest starts must age out until one slot is left.
        until = Math.max(until, recent[recent.length - this.cap.maxStarts] + this.periodMs);
      }
    }
    return until ? new Date(until) : null;
  }

  record(identities: readonly string[], at: Date): void {
    for (const id of identities) {
      const list = this.starts.get(id) ?? [];
      list.push(at.getTime());
      this.starts.set(id, list);
    }
  }

  describe(): string {
    return `${this.cap.maxStarts} per ${this.cap.perHours} h`;
  }
}

/** A token bucket per channel: perMinute refill, one second's worth (at least 1) of burst. */
export class TokenBucket {
  readonly capacity: number;
  private readonly perMs: number;
  /** Starts already promised a later slot in this pass, so each deferred one gets its own. */
  private queued = 0;

  constructor(readonly perMinute: number, public tokens: number, public updatedAt: number) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
  }

  static full(perMinute: number, now: number): TokenBucket {
    const b = new TokenBucket(perMinute, 0, now);
    b.tokens = b.capacity;
    return b;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * this.perMs);
      this.updatedAt = now;
    }
  }

  /** Takes a token (true), or answers when the next free slot comes (never drops: the caller waits). */
  take(now: Date): true | Date {
    this.refill(now.getTime());
    if (this.queued === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.queued += 1;
    const missing = this.queued - this.tokens;
    return new Date(now.getTime() + Math.ceil(missing / this.perMs));
  }
}
