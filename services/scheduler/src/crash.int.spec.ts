import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { contactStreamId, newEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { ensureSchedulerSchema, TimerLoop } from './scheduler-core';
import { SchedulerFixture } from '../test/fixture';

const ROOT = join(__dirname, '../../..');
const LONG = 7000; // windows still open after the restart
const SHORT = 3000; // windows that close while the scheduler is down

// Real PostgreSQL; the scheduler is a separate process killed with SIGKILL while 10,000 communications are due.
describe('scheduler: kill -9 while 10,000 communications are due', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let f: SchedulerFixture;
  const T = Date.now();
  let campaignId: string;

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await ensureSchedulerSchema(db.pool);
    f = new SchedulerFixture(db, store);
    campaignId = await f.campaign();
    // Long windows are due first, so the kill lands among them and the short ones are all still waiting.
    const plan = (i: number) => i < LONG
      ? { start: T - 2000, end: T + 3_600_000 }
      : { start: T - 1000, end: T + 300_000 };
    for (let from = 0; from < LONG + SHORT; from += 1000) {
      await store.appendMany(Array.from({ length: Math.min(1000, LONG + SHORT - from) }, (_, j) => {
        const i = from + j;
        const key = `k${i}`;
        const p = plan(i);
        return {
          streamId: contactStreamId(campaignId, key), expectedRevision: 'no_stream' as const, events: [
            newEvent('ContactCreated', { campaignId, key, objectId: key, externalId: null, name: key, email: `${key}@example.com`, phone: null, parameters: {}, uploadId: null, row: null }, f.meta),
            newEvent('CommunicationPlanned', { communication: { id: `comm-${i}`, name: i < LONG ? 'long' : 'short', stageName: 'Reminder', startDate: new Date(p.start).toISOString(), endDate: new Date(p.end).toISOString() } }, f.meta),
          ],
        };
      }));
    }
    await f.project();
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('restarted, it dispatches each open one exactly once and marks the closed ones MISSED: none lost, none twice', async () => {
    const child = spawn(process.execPath, ['-r', join(ROOT, 'tools/register.js'), join(ROOT, 'services/scheduler/test/timer-loop-child.ts')], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const fired = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM herald_events WHERE type = 'CommunicationStarted'`)).rows[0].n);
    const before = await eventually(async () => {
      const n = await fired();
      return n >= 200 ? n : undefined;
    }, { what: `the child scheduler to fire a first batch\n${output}`, timeoutMs: 30_000, intervalMs: 2 });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const atKill = await fired();
    assert.ok(before > 0 && atKill < LONG, `killed in the middle (${atKill} of ${LONG} started)`);

    // Ten minutes later (a virtual clock): the dead claims have expired, the short windows have closed.
    // Two replicas take over; the projection has not even seen what the dead one appended.
    const later = () => new Date(Date.now() + 600_000);
    const replicas = ['r1', 'r2'].map((id) => new TimerLoop({ pool: db.pool, store, workerId: id, now: later, batchSize: 250 }));
    await Promise.all(replicas.map((r) => r.tick()));

    const { rows } = await db.pool.query<{ id: string; type: string; status: string | null; at: string; n: string }>(
      `SELECT data->>'communicationId' AS id, min(type) AS type, min(data->>'status') AS status,
              min(COALESCE(data->>'startedAt', data->>'finishedAt')) AS at, count(*) AS n
         FROM herald_events WHERE type IN ('CommunicationStarted', 'CommunicationEnded') GROUP BY 1`,
    );
    assert.equal(rows.length, LONG + SHORT, 'every communication was fired: none lost');
    assert.deepEqual(rows.filter((r) => r.n !== '1').map((r) => r.id), [], 'none fired twice');
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (let i = 0; i < LONG + SHORT; i++) {
      const r = byId.get(`comm-${i}`)!;
      if (i < LONG) {
        assert.equal(r.type, 'CommunicationStarted', `comm-${i} started (window open)`);
        assert.ok(Date.parse(r.at) < T + 3_600_000, 'inside its window');
      } else {
        assert.deepEqual([r.type, r.status], ['CommunicationEnded', 'MISSED'], `comm-${i} missed (window closed while down)`);
      }
    }
    const stillDue = await db.pool.query(`SELECT count(*) AS n FROM scheduler_communications WHERE status = 'PLANNED' AND NOT fired`);
    assert.equal(Number(stillDue.rows[0].n), 0, 'no timer left');
  });
});
