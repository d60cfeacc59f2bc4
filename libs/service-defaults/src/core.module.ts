import { DynamicModule, Global, Inject, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { PostgresEventStore, type EventStore } from '@herald/event-store';
import { KafkaBus, Relay, StoreBus, type EventBus, type EventPublisher } from '@herald/bus';
import { addScrapeProbe, heraldMetrics, instrumentEventStore, kafkaLagProbe, storeLagProbe } from '@herald/observability';
import type { HeraldConfig } from './config';
import { openDatabase, type Database } from './database';
import { ensureCampaignLogSchema } from './campaign-log';
import { DATABASE, EVENT_BUS, EVENT_STORE, HERALD_CONFIG, PG_POOL } from './tokens';
import { secureTenantTables } from './tenancy';

/**
 * What every service process shares: configuration, the database, the event
 * store and the bus. Embedded: PGlite and the event log as bus. Distributed:
 * PostgreSQL and Kafka, with the relay publishing the log (one leader at a
 * time, elected in PostgreSQL).
 */
@Global()
@Module({})
export class HeraldCoreModule implements OnModuleInit, OnApplicationShutdown {
  private relay: { stop(): Promise<void> } | null = null;
  private readonly stopProbes: (() => unknown)[] = [];
  private readonly logger = new Logger('HeraldCore');

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig & { serviceName: string; relay: boolean },
    @Inject(DATABASE) private readonly db: Database,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  static forRoot(config: HeraldConfig, options: { serviceName: string; relay?: boolean }): DynamicModule {
    const full = { ...config, serviceName: options.serviceName, relay: options.relay ?? true };
    return {
      module: HeraldCoreModule,
      providers: [
        { provide: HERALD_CONFIG, useValue: full },
        { provide: DATABASE, useFactory: () => openDatabase(config) },
        { provide: PG_POOL, useFactory: (db: Database) => db.pool, inject: [DATABASE] },
        {
          provide: EVENT_STORE,
          useFactory: async (db: Database) => {
            const store = await PostgresEventStore.create(db.pool, { pollIntervalMs: db.embedded ? 20 : 100, notify: !db.embedded });
            await ensureCampaignLogSchema(db.pool);
            await secureTenantTables(db.pool);
            // Spans, trace context on appended events, and the events-appended metric.
            return instrumentEventStore(store, options.serviceName);
          },
          inject: [DATABASE],
        },
        {
          provide: EVENT_BUS,
          useFactory: (store: EventStore) =>
            config.mode === 'embedded'
              ? new StoreBus(store)
              : new KafkaBus({ brokers: config.kafkaBrokers, clientId: `herald-${options.serviceName}`, topicPrefix: config.kafkaTopicPrefix }),
          inject: [EVENT_STORE],
        },
      ],
      exports: [HERALD_CONFIG, DATABASE, PG_POOL, EVENT_STORE, EVENT_BUS],
    };
  }

  async onModuleInit(): Promise<void> {
    // Lag gauges, filled at scrape time from checkpoints (relay, embedded bus) or Kafka offsets.
    this.stopProbes.push(addScrapeProbe(storeLagProbe(this.db.pool as Pool, { consumers: this.config.mode === 'embedded' })));
    if (this.config.mode === 'distributed') {
      const kafka = kafkaLagProbe({ brokers: this.config.kafkaBrokers, topicPrefix: this.config.kafkaTopicPrefix, clientId: `herald-${this.config.serviceName}` });
      this.stopProbes.push(addScrapeProbe(kafka.probe), () => kafka.close());
    }
    if (this.config.mode === 'distributed' && this.config.relay) {
      this.relay = await Relay.start({ store: this.store, publisher: countingPublisher(this.bus as KafkaBus), pool: this.db.pool as Pool });
      this.logger.log('relay started (active while it holds the leader lock)');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.stopProbes.map((stop) => stop()));
    await this.relay?.stop().catch(() => undefined);
    await this.bus.close().catch(() => undefined);
    await this.store.close().catch(() => undefined);
    await this.db.close().catch(() => undefined);
  }
}

/**
 * Fault injection for the resilience suite (tools/resilience, docs/resilience.md), off unless set:
 * HERALD_FAULT_RELAY_KILL_AFTER_BATCHES=n kills this process (SIGKILL) right after Kafka acknowledged
 * the n-th batch, before the relay's checkpoint moves; HERALD_FAULT_RELAY_PUBLISH_TWICE=1 publishes
 * every batch twice, so that every consumer receives every message twice.
 */
const FAULTS = {
  killAfterBatches: Number(process.env.HERALD_FAULT_RELAY_KILL_AFTER_BATCHES) || 0,
  publishTwice: process.env.HERALD_FAULT_RELAY_PUBLISH_TWICE === '1',
};

/** The relay's publisher, counting what Kafka acknowledged per topic. */
function countingPublisher(bus: KafkaBus): EventPublisher {
  let batches = 0;
  return {
    publish: async (messages) => {
      await bus.publish(messages);
      if (FAULTS.publishTwice) await bus.publish(messages);
      if (FAULTS.killAfterBatches && ++batches >= FAULTS.killAfterBatches) process.kill(process.pid, 'SIGKILL');
      const byTopic = new Map<string, number>();
      for (const m of messages) byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
      for (const [topic, n] of byTopic) heraldMetrics.relayPublished.inc({ topic }, n);
    },
    close: () => bus.close(),
  };
}
