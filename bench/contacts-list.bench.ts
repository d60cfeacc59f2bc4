/**
 * The contacts list over a campaign of COUNT contacts (default 1,000,000):
 * latency per page (50 rows) of the read model's query with each Contact
 * Filter, p50/p95/max over many pages, on the machine's PostgreSQL with the
 * indexes the ingestion service creates. Baseline in the same run: the bare
 * primary-key page (`where campaign_id = $1 and contact_key > $2 order by
 * contact_key limit 51`), the least a list page can cost.
 *
 *   npm run bench -- contacts-list          (COUNT=200000 for a quicker run)
 */
import { createTestDatabase } from '@herald/testing';
import { CONTACT_LIST_SCHEMA, ensureContactListIndexes, listContacts } from '../services/ingestion/src/contact-list/contact-list';

const COUNT = Number(process.env.COUNT ?? 1_000_000);
const PAGES = 200;
const CAMPAIGN = '00000000-0000-4000-8000-000000000001';

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const db = await createTestDatabase('herald_bench');
  try {
    await db.pool.query(CONTACT_LIST_SCHEMA);
    const t0 = performance.now();
    // A second campaign of the same size shares the table, as in a real installation.
    for (const campaign of [CAMPAIGN, '00000000-0000-4000-8000-000000000002']) {
      await db.pool.query(
        `insert into contact_list (campaign_id, contact_key, workspace_id, name, email, phone, external_id, current_stage, outcome, communications, parameters, results, created_at)
         select $1, 'o:C-' || lpad(i::text, 8, '0'), 'default', 'Person ' || i || ' ' || (array['Smith','Doe','Garcia','Müller','Ivanova'])[1 + i % 5],
                'p' || i || '@example.com', '+1202' || lpad((i % 10000000)::text, 7, '0'), 'EXT-' || i, '1 Reminder',
                (array['SUCCESS','POSITIVE','UNCERTAIN','NEGATIVE','ERROR'])[1 + i % 5], i % 3,
                jsonb_build_object('amount', i % 1000, 'city', 'City ' || (i % 50)), '{"ResultFlag": null}'::jsonb,
                timestamptz '2026-01-01' + (i || ' seconds')::interval
           from generate_series(1, $2::int) as i`,
        [campaign, COUNT],
      );
    }
    await db.pool.query('analyze contact_list');
    const trigram = await ensureContactListIndexes(db.pool);
    await db.pool.query('analyze contact_list');
    console.log(`seeded ${(2 * COUNT).toLocaleString()} contacts (2 campaigns) in ${((performance.now() - t0) / 1000).toFixed(1)} s; trigram indexes: ${trigram}`);

    const time = async (run: (i: number) => Promise<unknown>) => {
      const ms: number[] = [];
      for (let i = 0; i < PAGES; i++) {
        const start = performance.now();
        await run(i);
        ms.push(performance.now() - start);
      }
      return ms;
    };
    const after = (i: number) => `o:C-${String(Math.floor((i * 7919) % COUNT)).padStart(8, '0')}`;
    const baseline = await time((i) => db.pool.query(
      'select * from contact_list where campaign_id = $1 and contact_key > $2 order by contact_key limit 51', [CAMPAIGN, after(i)],
    ));
    const base95 = [...baseline].sort((a, b) => a - b)[Math.floor(0.95 * baseline.length)];
    console.log(`baseline (primary-key page): ${stats(baseline)}`);
    const cases: [string, (i: number) => Parameters<typeof listContacts>[3]][] = [
      ['no filter, Load More from a random cursor', (i) => ({ after: after(i), limit: 50 })],
      ['name contains (common: "smith")', (i) => ({ name: 'smith', after: after(i), limit: 50 })],
      ['name contains (rare: a full number)', (i) => ({ name: `person ${1 + ((i * 104729) % COUNT)} `, limit: 50 })],
      ['email contains', (i) => ({ email: `p${1 + ((i * 104729) % COUNT)}@`, limit: 50 })],
      ['phone contains', (i) => ({ phone: String(1000000 + ((i * 7919) % 8999999)), limit: 50 })],
      ['external id contains', (i) => ({ externalId: `ext-${1 + ((i * 104729) % COUNT)}`, limit: 50 })],
      ['outcome', (i) => ({ outcome: 'NEGATIVE', after: after(i), limit: 50 })],
      ['created in a one-day range', (i) => ({ createdFrom: new Date(Date.UTC(2026, 0, 1) + (i % 10) * 86_400_000).toISOString(), createdTo: new Date(Date.UTC(2026, 0, 2) + (i % 10) * 86_400_000).toISOString(), limit: 50 })],
      ['outcome + name + created range', (i) => ({ outcome: 'SUCCESS', name: 'garcia', createdFrom: '2026-01-01T00:00:00Z', createdTo: `2026-01-0${5 + (i % 3)}T00:00:00Z`, limit: 50 })],
    ];
    let worst = 0;
    for (const [label, page] of cases) {
      const ms = await time((i) => listContacts(db.pool, 'default', CAMPAIGN, page(i)));
      const p95 = [...ms].sort((a, b) => a - b)[Math.floor(0.95 * ms.length)];
      worst = Math.max(worst, p95);
      console.log(`${label}: ${stats(ms)} (p95 / baseline p95: ${(p95 / base95).toFixed(1)})`);
    }
    console.log(`worst p95 over all filters: ${worst.toFixed(1)} ms (target < 100 ms)`);
  } finally {
    await db.drop();
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
