// A separate process running one upload worker on DATABASE_URL, for the kill -9 test.
import { Pool } from 'pg';
import { PostgresEventStore } from '@herald/event-store';
import { UploadWorker } from '../src/uploads/upload-worker';
import { passthroughStrategies } from './passthrough-strategies';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 });
  const store = await PostgresEventStore.create(pool);
  new UploadWorker(pool, store, passthroughStrategies).start();
  process.stdout.write('worker started\n');
}

void main();
