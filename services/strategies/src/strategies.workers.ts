import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { TOPICS } from '@herald/contracts';
import type { BusSubscription, EventBus } from '@herald/bus';
import type { EventStore } from '@herald/event-store';
import { EVENT_BUS, EVENT_STORE, PG_POOL, startConsumer } from '@herald/service-defaults';
import { StrategiesService } from './strategies.service';
import { AggregationHandler } from './aggregation/aggregation-handler';
import { IntermediateAnalysisHandler } from './intermediate-analysis/intermediate-handler';
import { ContactHook } from './hooks/contact-hook';

/**
 * The strategy hooks on contact events, one consumer group each so a slow
 * Intermediate analysis never holds up Aggregation (and the reverse).
 */
@Injectable()
export class StrategiesWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscriptions: BusSubscription[] = [];
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly strategies: StrategiesService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscriptions = await startStrategyConsumers(this.bus, this.pool, this.store, this.strategies);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.close()));
  }
}

export async function startStrategyConsumers(bus: EventBus, pool: Pool, store: EventStore, strategies: StrategiesService): Promise<BusSubscription[]> {
  const hook = new ContactHook(store, pool, strategies.runner, strategies.campaigns);
  const aggregation = new AggregationHandler(hook);
  const intermediate = new IntermediateAnalysisHandler(hook);
  return [
    // Batches: an upload or a busy campaign ends many communications at once; one strategy call and one append serve them all.
    await startConsumer(bus, pool, {
      group: 'strategies.aggregation', topics: [TOPICS.contactEvents], types: AggregationHandler.TYPES,
      handle: (event) => aggregation.handle(event), handleBatch: (items) => aggregation.handleBatch(items),
    }),
    // Batches too, so that the group's progress is read and written once per batch, not twice per contact event;
    // the messages themselves are analysed one by one, in order (a conversation's turns depend on each other).
    await startConsumer(bus, pool, {
      group: 'strategies.intermediate', topics: [TOPICS.contactEvents], types: IntermediateAnalysisHandler.TYPES, handle: (event) => intermediate.handle(event),
      handleBatch: async (items) => { for (const { event } of items) await intermediate.handle(event); },
    }),
  ];
}
