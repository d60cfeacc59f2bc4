import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { PoolClient } from 'pg';
import { newEvent, TOPICS, type RecordedEvent } from '@herald/contracts';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { idempotentBatchProjection, idempotentHandler, idempotentProjection } from './idempotent-consumer';

const meta = { workspaceId: 'ws-test' };
let position = 0;
function recorded(streamId: string, revision: number, type = 'Thing', data: unknown = {}): RecordedEvent {
  return { ...newEvent(type, data, meta), streamId, revision, position: ++position };
}

/** A read model where a double application shows: a counter and the list of applied revisions per stream. */
async function countProjection(event: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
  await client.query(
    `insert into counts (stream_id, n, revisions) values ($1, 1, array[$2::int])
     on conflict (stream_id) do update set n = counts.n + 1, revisions = counts.revisions || $2::int`,
    [event.streamId, event.revision],
  );
}

describe('idempotent consumers', () => {
  let db: TestDatabase;
  const streams = ['contact-c1-a', 'contact-c1-b', 'campaign-c1'];
  const events = streams.flatMap((s) => [0, 1, 2, 3].map((r) => recorded(s, r)));
  const topicOf = (e: RecordedEvent) => (e.streamId.startsWith('campaign-') ? TOPICS.campaignEvents : TOPICS.contactEvents);

  before(async () => {
    db = await createTestDatabase();
    await db.pool.query('create table counts (stream_id text primary key, n int not null, revisions int[] not null)');
  });
  after(async () => db.drop());

  async function readCounts() {
    const { rows } = await db.pool.query<{ stream_id: string; n: number; revisions: number[] }>('select * from counts order by stream_id');
    return rows;
  }

  it('a projection fed every event twice, plus stale duplicates, equals a single delivery', async () => {
    const project = idempotentProjection(db.pool, 'counter', countProjection);
    for (const e of events) {
      await project(e, topicOf(e));
      await project(e, topicOf(e));
      // An out-of-order duplicate of an older revision, as a relay restart produces.
      if (e.revision >= 2) await project(events.find((x) => x.streamId === e.streamId && x.revision === e.revision - 2)!, topicOf(e));
    }
    const rows = await readCounts();
    assert.deepEqual(
      rows.map((r) => [r.stream_id, r.n, r.revisions]),
      [...streams].sort().map((s) => [s, 4, [0, 1, 2, 3]]),
    );
    const { rows: progress } = await db.pool.query('select consumer_group, stream_id, revision from herald_consumer_progress order by stream_id');
    assert.deepEqual(progress, [...streams].sort().map((s) => ({ consumer_group: 'counter', stream_id: s, revision: 3 })));
  });

  it('a batch projection fed overlapping, duplicated and concurrent batches equals a single delivery, and rolls back whole', async () => {
    await db.pool.query('truncate counts');
    const project = idempotentBatchProjection(db.pool, 'counter-batch', countProjection);
    const items = events.map((event) => ({ event, topic: topicOf(event) }));
    await project(items.slice(0, 7));
    await Promise.all([project(items.slice(3, 10)), project(items.slice(3, 10)), project(items.slice(5))]);
    await project([...items].reverse()); // stale duplicates in any order
    assert.deepEqual((await readCounts()).map((r) => [r.stream_id, r.n, r.revisions]), [...streams].sort().map((s) => [s, 4, [0, 1, 2, 3]]));

    let fail = true;
    const failing = idempotentBatchProjection(db.pool, 'counter-batch-failing', async (event, topic, client) => {
      await countProjection(event, topic, client);
      if (fail && event.revision === 2) throw new Error('boom in the middle of a batch');
    });
    await db.pool.query('truncate counts');
    await assert.rejects(failing(items), /boom/);
    assert.deepEqual(await readCounts(), [], 'nothing of the failed batch stays');
    fail = false;
    await failing(items);
    assert.deepEqual((await readCounts()).map((r) => r.n), [4, 4, 4]);
  });

  it('concurrent duplicate deliveries of a stream apply each event once', async () => {
    await db.pool.query('truncate counts');
    const project = idempotentProjection(db.pool, 'counter-concurrent', countProjection);
    const fresh = [0, 1, 2].map((r) => recorded('contact-c2-z', r));
    for (const e of fresh) await Promise.all([project(e, TOPICS.contactEvents), project(e, TOPICS.contactEvents), project(e, TOPICS.contactEvents)]);
    assert.deepEqual((await readCounts()).map((r) => [r.stream_id, r.n]), [['contact-c2-z', 3]]);
  });

  it('a failing projection leaves neither its writes nor progress behind, and the retry applies it', async () => {
    await db.pool.query('truncate counts');
    let fail = true;
    const project = idempotentProjection(db.pool, 'counter-failing', async (event, topic, client) => {
      await countProjection(event, topic, client);
      if (fail) throw new Error('boom after writing');
    });
    const e = recorded('contact-c3-q', 0);
    await assert.rejects(project(e, TOPICS.contactEvents), /boom/);
    assert.deepEqual(await readCounts(), []);
    fail = false;
    await project(e, TOPICS.contactEvents);
    await project(e, TOPICS.contactEvents);
    assert.deepEqual((await readCounts()).map((r) => r.n), [1]);
  });

  it('idempotentHandler calls the inner handler once per event, in spite of redeliveries', async () => {
    const calls: string[] = [];
    const handle = idempotentHandler(db.pool, 'handler', async (event, topic) => {
      calls.push(`${topic}:${event.streamId}@${event.revision}`);
    });
    for (const e of events) {
      await handle(e, topicOf(e));
      await handle(e, topicOf(e));
      if (e.revision >= 1) await handle(events.find((x) => x.streamId === e.streamId && x.revision === 0)!, topicOf(e));
    }
    assert.deepEqual(calls, events.map((e) => `${topicOf(e)}:${e.streamId}@${e.revision}`));
  });

  it('idempotentHandler records nothing when the handler fails, so the retry runs it', async () => {
    let attempts = 0;
    const handle = idempotentHandler(db.pool, 'handler-failing', async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('transient');
    });
    const e = recorded('contact-c4-w', 0);
    await assert.rejects(handle(e, TOPICS.contactEvents), /transient/);
    await handle(e, TOPICS.contactEvents);
    await handle(e, TOPICS.contactEvents);
    assert.equal(attempts, 2);
  });

  it('keeps the progress of a command topic apart from the stream category topic', async () => {
    // A CommunicationStarted at revision 5 arriving first on dispatch.requests must not make
    // contact.events skip revisions 0..4 still on their way (topics are not ordered together).
    const seen: string[] = [];
    const handle = idempotentHandler(db.pool, 'mixed', async (event, topic) => {
      seen.push(`${topic}@${event.revision}`);
    });
    const started = recorded('contact-c5-m', 5, 'CommunicationStarted', { channel: 'email' });
    await handle(started, 'dispatch.requests.email');
    await handle(recorded('contact-c5-m', 4), TOPICS.contactEvents);
    await handle(started, TOPICS.contactEvents);
    await handle(started, 'dispatch.requests.email');
    assert.deepEqual(seen, ['dispatch.requests.email@5', 'contact.events@4', 'contact.events@5']);
  });
});
