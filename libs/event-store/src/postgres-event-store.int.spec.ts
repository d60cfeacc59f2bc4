import { Pool } from 'pg';
import { createTestDatabase } from '@herald/testing';
import { eventStoreContract } from './contract-suite';
import { PostgresEventStore } from './postgres-event-store';

// A scan window far below the default, so that subscriptions cross many windows (each read covers at most 4 pages' positions).
const scanWindow = 1;

eventStoreContract('PostgreSQL', async () => {
  const db = await createTestDatabase();
  const store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20, scanWindow });
  const pools: Pool[] = [];
  return {
    store,
    async reopen() {
      const pool = new Pool({ connectionString: db.url, max: 4 });
      pools.push(pool);
      return PostgresEventStore.create(pool, { pollIntervalMs: 20, scanWindow });
    },
    async dispose() {
      for (const p of pools) await p.end();
      await db.drop();
    },
  };
});
