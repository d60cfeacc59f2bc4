/**
 * Schema migration, run once per release before the services roll out
 * (the Kubernetes migration Job, `npm run migrate` by hand): creates the
 * event store, consumer progress, campaign log and read-model tables, and
 * the Kafka topics with retention.ms=-1 so that a new consumer group can
 * replay the whole history. Idempotent; services still create what is
 * missing on start, this only takes the race out of a rollout.
 */
import 'reflect-metadata';
import { TOPICS, dispatchRequestsTopic } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { KafkaBus, ensureConsumerProgressSchema } from '@herald/bus';
import { CHANNEL_IDS } from '@herald/campaign-model';
import { ensureCampaignLogSchema, loadConfig, openDatabase, secureTenantTables } from '@herald/service-defaults';
import { PROJECTIONS } from './projections/registry';

async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    await PostgresEventStore.create(db.pool);
    await ensureConsumerProgressSchema(db.pool);
    await ensureCampaignLogSchema(db.pool);
    for (const p of PROJECTIONS) await db.pool.query(p.schema);
    await secureTenantTables(db.pool);
    console.log(`database schema ready (${PROJECTIONS.map((p) => p.tables.join(',')).join(', ')})`);
  } finally {
    await db.close();
  }
  if (config.mode === 'distributed') {
    const bus = new KafkaBus({
      brokers: config.kafkaBrokers,
      clientId: 'herald-migrate',
      topicPrefix: config.kafkaTopicPrefix,
      partitions: Number(process.env.KAFKA_PARTITIONS ?? 6),
      retentionMs: -1,
    });
    try {
      const topics = [TOPICS.campaignEvents, TOPICS.contactEvents, TOPICS.dispatchStatus, ...CHANNEL_IDS.map(dispatchRequestsTopic)];
      await bus.ensureTopics(topics);
      console.log(`kafka topics ready: ${topics.length}, retention forever`);
    } finally {
      await bus.close();
    }
  }
}

main().catch((error) => {
  console.error(`migrate failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
