// A separate scheduler process (one TimerLoop on DATABASE_URL), for the kill -9 test.
import { Pool } from 'pg';
import { PostgresEventStore } from '@herald/event-store';
import { TimerLoop } from '../src/scheduler-core';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  const store = await PostgresEventStore.create(pool);
  new TimerLoop({
    pool, store, workerId: `child-${process.pid}`,
    batchSize: Number(process.env.BATCH_SIZE ?? 20), concurrency: 2,
    onError: (e) => process.stderr.write(`${(e as Error).stack}\n`),
  }).start();
  process.stdout.write('scheduler started\n');
}

void main();
