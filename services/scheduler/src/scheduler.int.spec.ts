import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { campaignStreamId, contactStreamId, newEvent, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { createSchedulerProjection, ensureSchedulerSchema, projectSchedulerEvent, TimerLoop } from './scheduler-core';
import { WakeListener } from './wake-listener';
import { Pool } from 'pg';

// Real PostgreSQL: timers, claims with SKIP LOCKED across two loops (two replicas), firing into the event store.
describe('scheduler: durable timers and windows', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let projected = 0;
  const ws = 'ws-sched';
  const meta = { workspaceId: ws };
  const running = randomUUID();
  const stopped = randomUUID();
  const stage = { id: 's1', name: 'Reminder', description: 'd', channel: 'email_notification', agent: null, settings: {} };
  const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

  /** Applies every new event to the timer table, as the consumer does. */
  async function project(): Promise<void> {
    const events = await store.readAll({ after: projected, maxCount: 10_000 });
    for (const e of events) {
      const client = await db.pool.connect();
      try {
        await projectSchedulerEvent(e, '', client);
      } finally {
        client.release();
      }
      projected = e.position;
    }
  }

  async function campaign(id: string, start: boolean): Promise<void> {
    await store.append(campaignStreamId(id), [
      newEvent('CampaignCreated', { campaignId: id, name: 'c', description: 'd', labels: [] }, meta),
      newEvent('StageAdded', { stage }, meta),
      ...(start ? [newEvent('CampaignStarted', {}, meta)] : []),
    ], 'no_stream');
  }

  async function contact(campaignId: string, key: string, startOffset: number, endOffset: number | null): Promise<{ stream: string; commId: string }> {
    const stream = contactStreamId(campaignId, key);
    const commId = randomUUID();
    await store.append(stream, [
      newEvent('ContactCreated', { campaignId, key, objectId: key, externalId: null, name: key, email: `${key}@example.com`, phone: null, parameters: {}, uploadId: null, row: null }, meta),
      newEvent('CommunicationPlanned', { communication: { id: commId, name: 'first', stageName: 'Reminder', startDate: iso(startOffset), endDate: endOffset === null ? null : iso(endOffset) } }, meta),
    ], 'no_stream');
    return { stream, commId };
  }

  const ends = async (stream: string) => (await store.readStream(stream)).filter((e) => e.type === 'CommunicationStarted' || e.type === 'CommunicationEnded');
  const loop = (id: string, extra: Partial<ConstructorParameters<typeof TimerLoop>[0]> = {}) => new TimerLoop({ pool: db.pool, store, workerId: id, batchSize: 3, ...extra });

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await ensureSchedulerSchema(db.pool);
    await campaign(running, true);
    await campaign(stopped, false);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('starts what is inside its window, marks what passed it MISSED, leaves the future and stopped campaigns alone; two replicas fire each once', async () => {
    const due = await Promise.all(Array.from({ length: 10 }, (_, i) => contact(running, `due-${i}`, -1000, 3_600_000)));
    const past = await contact(running, 'past', -7_200_000, -3_600_000);
    const future = await contact(running, 'future', 3_600_000, 7_200_000);
    const paused = await contact(stopped, 'paused', -1000, 3_600_000);
    await project();

    const [a, b] = [loop('a'), loop('b')];
    const fired = await Promise.all([a.tick(), b.tick()]);
    assert.equal(fired[0] + fired[1], 11, 'ten starts and one miss, split between the replicas');

    for (const d of due) {
      const events = await ends(d.stream);
      assert.deepEqual(events.map((e) => e.type), ['CommunicationStarted']);
      assert.equal((events[0].data as { channel: string }).channel, 'email_notification');
      assert.equal((events[0].data as { communicationId: string }).communicationId, d.commId);
    }
    const missed = await ends(past.stream);
    assert.deepEqual(missed.map((e) => [e.type, (e.data as { status: string }).status]), [['CommunicationEnded', 'MISSED']]);
    assert.deepEqual(await ends(future.stream), []);
    assert.deepEqual(await ends(paused.stream), []);

    // Firing the same timer again (back among the timers as if never claimed) appends nothing new.
    await db.pool.query(`UPDATE scheduler_communications SET fired = false, claimed_by = NULL, claimed_at = NULL WHERE communication_id = $1`, [due[0].commId]);
    await a.tick();
    assert.equal((await ends(due[0].stream)).length, 1);

    // The stopped campaign starts: what is inside its window fires now.
    await store.append(campaignStreamId(stopped), [newEvent('CampaignStarted', {}, meta)], 1);
    await project();
    await a.tick();
    assert.deepEqual((await ends(paused.stream)).map((e) => e.type), ['CommunicationStarted']);
  });

  it('a communication whose window closed while its campaign was stopped becomes MISSED on resume, never late', async () => {
    const id = randomUUID();
    await campaign(id, true);
    await store.append(campaignStreamId(id), [newEvent('CampaignStopped', {}, meta)], 2);
    const late = await contact(id, 'late', -3000, -1000);
    await project();
    assert.equal(await loop('c').tick(), 0, 'nothing fires while stopped');
    await store.append(campaignStreamId(id), [newEvent('CampaignStarted', {}, meta)], 3);
    await project();
    await loop('c').tick();
    const events = await ends(late.stream);
    assert.deepEqual(events.map((e) => (e.data as { status?: string }).status ?? e.type), ['MISSED']);
  });

  it('the running loop sleeps until the nearest due time and wakes on new events', async () => {
    const errors: unknown[] = [];
    const l = loop('live', { maxSleepMs: 60_000, onError: (e) => errors.push(e) });
    l.start();
    try {
      const soon = await contact(running, 'soon', 400, 3_600_000);
      await project();
      l.wake();
      const events = await eventually(async () => {
        const found = await ends(soon.stream);
        return found.length ? found : undefined;
      }, { what: 'the timer to fire', timeoutMs: 10_000 });
      const started = events[0] as RecordedEvent;
      const startedAt = (started.data as { startedAt: string }).startedAt;
      const plan = (await store.readStream(soon.stream))[1].data as { communication: { startDate: string } };
      assert.ok(startedAt >= plan.communication.startDate, 'never before its start date');
      assert.deepEqual(errors, []);
    } finally {
      await l.stop();
    }
  });

  it('distributed: the replica that projects a timer wakes another replica\'s sleeping loop through NOTIFY', async () => {
    // Replica B sleeps (up to a minute) on its own pool; replica A projects a plan due in 300 ms with notifications on.
    const poolB = new Pool({ connectionString: db.url, max: 3 });
    const b = loop('replica-b', { pool: poolB, maxSleepMs: 60_000 });
    const listener = new WakeListener(poolB, (due) => b.wakeAt(due));
    await listener.start();
    b.start();
    try {
      await new Promise((r) => setTimeout(r, 200)); // B has looked at the table and sleeps
      const soon = await contact(running, 'notified', 300, 3_600_000);
      const events = await store.readAll({ after: projected, maxCount: 100 });
      const projectA = createSchedulerProjection({ notifyWithinMs: 5000 });
      for (const e of events) {
        const client = await db.pool.connect();
        try {
          await client.query('BEGIN');
          await projectA(e, '', client);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        projected = e.position;
      }
      const started = await eventually(async () => (await ends(soon.stream))[0], { what: 'replica B to fire on the notification', timeoutMs: 10_000 });
      assert.equal(started.type, 'CommunicationStarted');
    } finally {
      await b.stop();
      await listener.stop();
      await poolB.end();
    }
  });

  it('a timer claimed by a crashed replica is taken over after the claim timeout', async () => {
    const c = await contact(running, 'orphan', -1000, 3_600_000);
    await project();
    // A claim is the row marked fired by its claimer; this one's claimer died before its append.
    await db.pool.query(`UPDATE scheduler_communications SET fired = true, claimed_by = 'dead', claimed_at = now() WHERE communication_id = $1`, [c.commId]);
    assert.equal(await loop('d').tick(), 0, 'a fresh claim is respected');
    await db.pool.query(`UPDATE scheduler_communications SET claimed_at = now() - interval '2 minutes' WHERE communication_id = $1`, [c.commId]);
    assert.equal(await loop('d').tick(), 1);
    assert.deepEqual((await ends(c.stream)).map((e) => e.type), ['CommunicationStarted']);
  });
});
