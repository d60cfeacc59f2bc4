import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '@herald/event-store';
import { eventStoreContract } from '@herald/event-store/src/contract-suite';
import { openDatabase } from './database';

// The event store contract on the embedded database (PGlite behind its socket server): what `npm start` runs on.
eventStoreContract('PostgreSQL on the embedded database (PGlite)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-pglite-contract-'));
  const db = await openDatabase({ databaseUrl: null, dataDir });
  const store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20, notify: false });
  const others: PostgresEventStore[] = [];
  return {
    store,
    // One process owns the embedded database: a "restarted" store is a second one on the same database.
    async reopen() {
      const again = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20, notify: false });
      others.push(again);
      return again;
    },
    async dispose() {
      for (const s of [store, ...others]) await s.close().catch(() => undefined);
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
});
