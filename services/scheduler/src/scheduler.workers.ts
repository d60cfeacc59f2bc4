import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { RecordedEvent } from '@herald/contracts';
import type { BusSubscription, EventBus } from '@herald/bus';
import type { EventStore } from '@herald/event-store';
import { DATABASE, EVENT_BUS, EVENT_STORE, PG_POOL, startConsumer, type Database } from '@herald/service-defaults';
import { createSchedulerProjection, createSchedulerProjectionMany, ensureSchedulerSchema, SCHEDULER_TOPICS, TimerLoop } from './scheduler-core';
import { WakeListener } from './wake-listener';

const MAX_SLEEP_MS = 5000;

/**
 * Keeps the timers from the events and fires them; several replicas may run
 * at once. The loop sleeps until the nearest due time and is woken early:
 * in process by the consumer (embedded mode: one process), and across
 * replicas by NOTIFY from the projection (distributed mode), since the
 * replica that projects a timer is not always the one asleep on it.
 */
@Injectable()
export class SchedulerWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription: BusSubscription | null = null;
  private loop: TimerLoop | null = null;
  private listener: WakeListener | null = null;
  private readonly logger = new Logger('Scheduler');

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE) private readonly db: Database,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await ensureSchedulerSchema(this.pool);
    const loop = new TimerLoop({
      pool: this.pool,
      store: this.store,
      workerId: `scheduler-${randomUUID().slice(0, 8)}`,
      maxSleepMs: MAX_SLEEP_MS,
      // The embedded database runs one statement at a time: one batch in flight is as fast.
      concurrency: this.db.embedded ? 1 : 2,
      onError: (error: unknown) => this.logger.error((error as Error)?.stack ?? String(error)),
    });
    this.loop = loop;
    if (!this.db.embedded) {
      this.listener = new WakeListener(this.pool, (due) => loop.wakeAt(due), (e) => this.logger.warn(`wake-up listener: ${(e as Error)?.message ?? e}; reconnecting`));
      await this.listener.start();
    }
    loop.start();
    const projection = this.db.embedded ? {} : { notifyWithinMs: MAX_SLEEP_MS };
    this.subscription = await startConsumer(this.bus, this.pool, {
      group: 'scheduler.timers',
      topics: [...SCHEDULER_TOPICS],
      project: createSchedulerProjection(projection),
      projectMany: createSchedulerProjectionMany(projection),
      after: (event) => wakeFor(loop, event),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
    await this.loop?.stop();
    await this.listener?.stop();
  }
}

/** Wakes the loop only for what can make a timer due sooner: a plan, a changed plan, a start, an upload done. */
function wakeFor(loop: TimerLoop, event: RecordedEvent): void {
  const data = event.data as { communication?: { startDate?: string }; changes?: { startDate?: string } };
  switch (event.type) {
    case 'CommunicationPlanned':
      loop.wakeAt(Date.parse(data.communication?.startDate ?? '') || 0);
      return;
    case 'CampaignStarted':
      loop.wake();
      return;
    case 'ContactsUploadCompleted':
    case 'CommunicationEnded':
    case 'CommunicationCancelled':
    case 'CommunicationUpdated':
      loop.wakeAt(Math.min(Date.parse(data.changes?.startDate ?? '') || Infinity, Date.now() + 200));
      return;
    default:
      return;
  }
}
