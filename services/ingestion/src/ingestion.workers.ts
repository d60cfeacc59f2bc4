import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { TOPICS } from '@herald/contracts';
import type { BusSubscription, EventBus } from '@herald/bus';
import { EVENT_BUS, PG_POOL, startConsumer, secureTenantTables } from '@herald/service-defaults';
import { CONTACT_LIST_GROUP, CONTACT_LIST_SCHEMA, ensureContactListIndexes, projectContactList, projectContactListMany } from './contact-list/contact-list';

@Injectable()
export class IngestionWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private subscription: BusSubscription | null = null;
  constructor(@Inject(EVENT_BUS) private readonly bus: EventBus, @Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.pool.query(CONTACT_LIST_SCHEMA);
    await secureTenantTables(this.pool);
    await ensureContactListIndexes(this.pool);
    this.subscription = await startConsumer(this.bus, this.pool, { group: CONTACT_LIST_GROUP, topics: [TOPICS.contactEvents], project: projectContactList, projectMany: projectContactListMany });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
  }
}
