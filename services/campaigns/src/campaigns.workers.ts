import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { TOPICS } from '@herald/contracts';
import type { BusSubscription, EventBus } from '@herald/bus';
import { EVENT_BUS, PG_POOL, startConsumer, secureTenantTables } from '@herald/service-defaults';
import { CAMPAIGN_LIST_SCHEMA, projectCampaignList } from './campaign-list/campaign-list';
import { CAMPAIGN_PERFORMANCE_EVENTS, CAMPAIGN_PERFORMANCE_SCHEMA, projectCampaignPerformance, projectCampaignPerformanceMany } from './campaign-performance/campaign-performance';

@Injectable()
export class CampaignsWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription: BusSubscription | null = null;
  private performance: BusSubscription | null = null;
  constructor(@Inject(EVENT_BUS) private readonly bus: EventBus, @Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.pool.query(CAMPAIGN_LIST_SCHEMA);
    await this.pool.query(CAMPAIGN_PERFORMANCE_SCHEMA);
    await secureTenantTables(this.pool);
    this.subscription = await startConsumer(this.bus, this.pool, { group: 'campaigns.campaign-list', topics: [TOPICS.campaignEvents], project: projectCampaignList });
    this.performance = await startConsumer(this.bus, this.pool, {
      group: 'campaigns.campaign-performance', topics: [TOPICS.contactEvents], types: CAMPAIGN_PERFORMANCE_EVENTS,
      project: projectCampaignPerformance, projectMany: projectCampaignPerformanceMany,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
    await this.performance?.close();
  }
}
