import { Logger } from '@nestjs/common';
import type { Conversations } from './conversations';
import type { SessionStore } from './session-store';

/**
 * Ends conversations whose contact stayed silent. Durable: the deadline is a
 * column of the session, so a restart loses no timer; replicas claim due
 * sessions with SKIP LOCKED. Sleeps until the nearest deadline (at most
 * `maxSleepMs`).
 */
export class SilenceTimer {
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly logger = new Logger('SilenceTimer');

  constructor(private readonly conversations: Conversations, private readonly sessions: SessionStore, private readonly maxSleepMs = 5000) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let sleep = this.maxSleepMs;
      try {
        while (this.running && (await this.conversations.expireDue()) > 0);
        const next = await this.sessions.nextDeadline();
        if (next) sleep = Math.min(sleep, Math.max(20, next.getTime() - Date.now()));
      } catch (error) {
        this.logger.warn(`silence timer: ${(error as Error).message}`);
      }
      if (!this.running) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, sleep);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
  }
}
