/**
 * `npm run projections:rebuild [-- <name> ...]`: drops the read models and
 * rebuilds them from the event log (all of them, or the ones named:
 * campaign-list, contact-list, campaign-performance). Distributed (DATABASE_URL set): runs beside
 * the live services, which keep serving the old tables until the swap.
 * Embedded: stop `npm start` first (its data folder has one user at a time).
 */
import 'reflect-metadata';
import { PostgresEventStore } from '@herald/event-store';
import { loadConfig, openDatabase } from '@herald/service-defaults';
import { PROJECTIONS } from './projections/registry';
import { rebuildProjection } from './projections/rebuild';

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !PROJECTIONS.some((p) => p.name === n));
  if (unknown.length) throw new Error(`unknown projection ${unknown.join(', ')}; known: ${PROJECTIONS.map((p) => p.name).join(', ')}`);
  const chosen = names.length ? PROJECTIONS.filter((p) => names.includes(p.name)) : PROJECTIONS;
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const store = await PostgresEventStore.create(db.pool, { notify: false });
    for (const def of chosen) {
      const started = Date.now();
      const report = await rebuildProjection(db.pool, store, def, {
        concurrentWriters: !db.embedded,
        onProgress: (name, position, head) => process.stderr.write(`\r${name}: ${position}/${head}`),
      });
      process.stderr.write('\n');
      console.log(`${report.name}: ${report.events} events replayed up to position ${report.position}, rows ${JSON.stringify(report.rows)}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await db.close();
  }
}

main().catch((error) => {
  console.error(`projections:rebuild failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
