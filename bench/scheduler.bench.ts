/**
 * Scheduler firing throughput and lateness, on the machine's PostgreSQL.
 *
 * 1. Burst: N (100,000) communications of one running campaign, all due in
 *    the same second (spread over its 1000 ms). The TimerLoop runs live
 *    (default settings: batches of 500, two in flight) and claims them with FOR UPDATE SKIP LOCKED, decides each against
 *    its window and appends CommunicationStarted (the dispatch request) with
 *    appendMany across streams. Measured: time from the first due moment until
 *    every one is claimed and appended, and lateness (startedAt - start_date)
 *    p50 / p99 / max.
 *    Baseline in the same run, on the same rows and index: a bare
 *    `UPDATE ... FOR UPDATE SKIP LOCKED` claim loop (same batch size and
 *    concurrency) that takes each row off the queue and appends nothing.
 * 2. No backlog: the loop runs live while M (5,000) communications fall due
 *    one every 2 ms; lateness of each start (p50 / p99 / max).
 *
 * The clock the loop reads is shifted (a constant offset) so the due moment
 * comes right after setup; durations and lateness are real time.
 *
 *   npm run bench -- scheduler          (N=20000 for a quicker run)
 */
import { loadavg } from 'node:os';
import { contactStreamId, newEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { createTestDatabase } from '@herald/testing';
import { ensureSchedulerSchema, TimerLoop } from '../services/scheduler/src/scheduler-core';
import { SchedulerFixture } from '../services/scheduler/test/fixture';

const N = Number(process.env.N ?? 100_000);
const M = Number(process.env.M ?? 5_000);
const BATCH = Number(process.env.BATCH ?? 500);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 2);

/**
 * The store as the loop sees it, counting the CommunicationStarted events its appends wrote: the bench
 * knows when the last one is in without polling the database (a count every 100 ms is a scan that
 * competes with the loop for the same two cores).
 */
function countingStarts(store: PostgresEventStore) {
  let appended = 0;
  const waiters: { n: number; resolve: (at: number) => void }[] = [];
  const counting = Object.create(store) as PostgresEventStore;
  counting.appendMany = async (appends) => {
    const result = await store.appendMany(appends);
    appended += appends.reduce((n, a) => n + a.events.filter((e) => e.type === 'CommunicationStarted').length, 0);
    const at = Date.now();
    for (const w of waiters.splice(0)) if (appended >= w.n) w.resolve(at); else waiters.push(w);
    return result;
  };
  return {
    store: counting,
    /** Resolves with the wall-clock time (ms) the n-th start was appended. */
    reached: (n: number) => new Promise<number>((resolve) => (appended >= n ? resolve(Date.now()) : waiters.push({ n, resolve }))),
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const db = await createTestDatabase('herald_bench');
  const store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 50 });
  await ensureSchedulerSchema(db.pool);
  const f = new SchedulerFixture(db, store, 'ws-bench');
  try {
    // ---- 1. burst -------------------------------------------------------
    const due = Date.now() + 86_400_000; // tomorrow; the loop's clock is moved there
    const c = await f.campaign();
    await f.project();
    let t = Date.now();
    for (let from = 0; from < N; from += 2000) {
      await store.appendMany(Array.from({ length: Math.min(2000, N - from) }, (_, j) => {
        const key = `k${from + j}`;
        return {
          streamId: contactStreamId(c, key), expectedRevision: 'no_stream' as const, events: [
            newEvent('ContactCreated', { campaignId: c, key, objectId: key, externalId: null, name: key, email: `${key}@example.com`, phone: null, parameters: {}, uploadId: null, row: null }, f.meta),
            newEvent('CommunicationPlanned', { communication: { id: `comm-${from + j}`, name: 'n', stageName: 'Reminder', startDate: new Date(due + ((from + j) % 1000)).toISOString(), endDate: new Date(due + 3_600_000).toISOString() } }, f.meta),
          ],
        };
      }));
    }
    console.log(`setup: ${N} contacts appended in ${Date.now() - t} ms`);
    // Setup shortcut (not measured): the scheduler's rows as its projection would write them, in two statements.
    t = Date.now();
    await db.pool.query(
      `INSERT INTO scheduler_contacts (stream_id, campaign_id, workspace_id, contact_key, name, revision, email, identities)
       SELECT stream_id, $1, 'ws-bench', data->>'key', data->>'name', 1, data->>'email', ARRAY['e:' || (data->>'email')]
         FROM herald_events WHERE type = 'ContactCreated' AND stream_id LIKE $2`, [c, `contact-${c}-%`]);
    await db.pool.query(
      `INSERT INTO scheduler_communications (communication_id, workspace_id, campaign_id, stream_id, name, stage_name, start_date, end_date, status, due_at, cause_event_id, correlation_id)
       SELECT data#>>'{communication,id}', 'ws-bench', $1, stream_id, 'n', 'Reminder', (data#>>'{communication,startDate}')::timestamptz,
              (data#>>'{communication,endDate}')::timestamptz, 'PLANNED', (data#>>'{communication,startDate}')::timestamptz, metadata->>'eventId', metadata->>'correlationId'
         FROM herald_events WHERE type = 'CommunicationPlanned' AND stream_id LIKE $2`, [c, `contact-${c}-%`]);
    await db.pool.query('VACUUM ANALYZE scheduler_communications');
    await db.pool.query('VACUUM ANALYZE scheduler_contacts');
    console.log(`setup: timer rows written in ${Date.now() - t} ms`);
    const dueEnd = new Date(due + 1000);

    // Baseline: bare claim loop over the same rows, same batch size and concurrency.
    t = performance.now();
    let claimed = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      for (;;) {
        const { rowCount } = await db.pool.query(
          `UPDATE scheduler_communications SET fired = true, claimed_by = 'baseline', claimed_at = now()
            WHERE communication_id IN (SELECT communication_id FROM scheduler_communications
                                        WHERE campaign_id = $3 AND status = 'PLANNED' AND NOT fired AND due_at <= $1
                                        ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [dueEnd, BATCH, c]);
        claimed += rowCount ?? 0;
        if ((rowCount ?? 0) < BATCH) return;
      }
    }));
    const baseMs = performance.now() - t;
    if (claimed !== N) throw new Error(`baseline claimed ${claimed} of ${N}`);
    await db.pool.query(`UPDATE scheduler_communications SET fired = false, claimed_by = NULL, claimed_at = NULL`);
    await db.pool.query('VACUUM ANALYZE scheduler_communications');

    // The loop runs live from 50 ms before the second in which every one falls due.
    const offset = due - 50 - Date.now();
    const burst = countingStarts(store);
    const loop = new TimerLoop({ pool: db.pool, store: burst.store, workerId: 'bench', batchSize: BATCH, concurrency: CONCURRENCY, now: () => new Date(Date.now() + offset) });
    loop.start();
    const doneAt = await Promise.race([burst.reached(N), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the burst did not fire within 10 minutes')), 600_000).unref())]);
    await loop.stop();
    const { rows } = await db.pool.query<{ late: number; at: number }>(
      `SELECT extract(epoch FROM ((e.data->>'startedAt')::timestamptz - m.start_date)) * 1000 AS late,
              extract(epoch FROM ((e.data->>'startedAt')::timestamptz - $1::timestamptz)) * 1000 AS at
         FROM herald_events e JOIN scheduler_communications m ON m.communication_id = e.data->>'communicationId'
        WHERE e.type = 'CommunicationStarted'`, [new Date(due)]);
    if (rows.length !== N) throw new Error(`${rows.length} starts for ${N} communications`);
    const late = rows.map((r) => Number(r.late)).sort((a, b) => a - b);
    if (late[0] < 0) throw new Error(`a start before its due time (${late[0]} ms)`);
    // Time from the first due moment (real time: the loop's clock runs `offset` ahead) until the append of the last one returned.
    const ms = doneAt - (due - offset);
    const rate = N / (ms / 1000);
    const baseRate = N / (baseMs / 1000);
    console.log(`\nburst: ${N} communications due in the same second`);
    console.log(`  scheduler: all claimed and CommunicationStarted appended ${fmt(ms)} after the first was due: ${rate.toFixed(0)} per second`);
    console.log(`    (last startedAt, the decision time of the last batch: ${fmt(rows.reduce((m, r) => Math.max(m, Number(r.at)), 0))} after the first was due)`);
    console.log(`  lateness (startedAt - start_date): p50 ${fmt(pct(late, 50))}, p99 ${fmt(pct(late, 99))}, max ${fmt(late[late.length - 1])}`);
    console.log(`  baseline (bare UPDATE ... FOR UPDATE SKIP LOCKED claim loop, no append): ${fmt(baseMs)}: ${baseRate.toFixed(0)} per second`);
    console.log(`  ratio scheduler / baseline: ${(rate / baseRate).toFixed(2)}`);

    // Context: the event store's appendMany alone, one event to each of the same streams, same batch and concurrency.
    const streams = (await db.pool.query<{ stream_id: string }>(`SELECT stream_id FROM scheduler_contacts WHERE campaign_id = $1`, [c])).rows.map((r) => r.stream_id);
    t = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let i = w * BATCH; i < streams.length; i += CONCURRENCY * BATCH) {
        await store.appendMany(streams.slice(i, i + BATCH).map((streamId) => ({
          streamId, expectedRevision: 'any' as const, events: [newEvent('ContactInternalDataChanged', { internalData: { bench: true } }, f.meta)],
        })));
      }
    }));
    const appendMs = performance.now() - t;
    console.log(`  event store appendMany alone (one event to each of the ${streams.length} streams): ${fmt(appendMs)}: ${(streams.length / (appendMs / 1000)).toFixed(0)} per second`);

    // ---- 2. no backlog ----------------------------------------------------
    const c2 = await f.campaign();
    const start2 = Date.now() + 2 * 86_400_000;
    for (let from = 0; from < M; from += 1000) {
      await store.appendMany(Array.from({ length: Math.min(1000, M - from) }, (_, j) => {
        const i = from + j;
        const key = `live${i}`;
        return {
          streamId: contactStreamId(c2, key), expectedRevision: 'no_stream' as const, events: [
            newEvent('ContactCreated', { campaignId: c2, key, objectId: key, externalId: null, name: key, email: `${key}@example.com`, phone: null, parameters: {}, uploadId: null, row: null }, f.meta),
            newEvent('CommunicationPlanned', { communication: { id: `live-${i}`, name: 'n', stageName: 'Reminder', startDate: new Date(start2 + i * 2).toISOString(), endDate: new Date(start2 + 3_600_000).toISOString() } }, f.meta),
          ],
        };
      }));
    }
    await f.project();
    const offset2 = start2 - 1000 - Date.now();
    const liveStarts = countingStarts(store);
    const live = new TimerLoop({ pool: db.pool, store: liveStarts.store, workerId: 'live', batchSize: BATCH, concurrency: CONCURRENCY, maxSleepMs: 5000, now: () => new Date(Date.now() + offset2) });
    live.start();
    await Promise.race([liveStarts.reached(M), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the live run did not finish within 2 minutes')), 120_000).unref())]);
    await live.stop();
    const { rows: r2 } = await db.pool.query<{ late: number }>(
      `SELECT extract(epoch FROM ((data->>'startedAt')::timestamptz - $2::timestamptz)) * 1000 - (substring(data->>'communicationId' from 6)::int * 2) AS late
         FROM herald_events WHERE type = 'CommunicationStarted' AND data->>'campaignId' = $1`, [c2, new Date(start2)]);
    const late2 = r2.map((r) => Number(r.late)).sort((a, b) => a - b);
    if (late2[0] < 0) throw new Error(`a start before its due time (${late2[0]} ms)`);
    console.log(`\nno backlog: ${M} communications falling due one every 2 ms (${(M * 2) / 1000} s of traffic), loop running`);
    console.log(`  lateness: p50 ${fmt(pct(late2, 50))}, p99 ${fmt(pct(late2, 99))}, max ${fmt(late2[late2.length - 1])}`);
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await store.close();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
