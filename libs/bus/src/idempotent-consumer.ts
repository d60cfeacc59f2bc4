import type { Pool, PoolClient } from 'pg';
import { topicsFor, type RecordedEvent } from '@herald/contracts';
import type { BatchHandler, EventHandler } from './bus';

const SCHEMA = `
create table if not exists herald_consumer_progress (
  consumer_group text not null,
  stream_id      text not null,
  revision       integer not null,
  primary key (consumer_group, stream_id)
)`;

const schemaReady = new WeakMap<Pool, Promise<void>>();

/** Creates the progress table once per pool; concurrent creators are serialised by an advisory lock. */
export function ensureConsumerProgressSchema(pool: Pool): Promise<void> {
  let ready = schemaReady.get(pool);
  if (!ready) {
    ready = (async () => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query(`select pg_advisory_xact_lock(hashtext('herald_consumer_progress_schema'))`);
        await client.query(SCHEMA);
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    })();
    ready.catch(() => schemaReady.delete(pool));
    schemaReady.set(pool, ready);
  }
  return ready;
}

/**
 * Whose progress a delivery moves. Revisions order a stream's events only
 * within one topic (Kafka orders per topic partition), so a group that also
 * reads a command topic (dispatch.requests.<channel>) keeps that topic's
 * progress apart: otherwise a CommunicationStarted arriving there first
 * would make the group skip earlier events still on their way through
 * contact.events. On the stream's own category topic the key is the group.
 */
export function progressKey(group: string, event: Pick<RecordedEvent, 'streamId' | 'type' | 'data'>, topic: string): string {
  return topic === topicsFor(event)[0] ? group : `${group}@${topic}`;
}

const UPSERT = `
insert into herald_consumer_progress (consumer_group, stream_id, revision) values ($1, $2, $3)
on conflict (consumer_group, stream_id)
do update set revision = greatest(herald_consumer_progress.revision, excluded.revision)`;

/**
 * For handlers whose effects are idempotent themselves (appends with
 * deterministic event ids): skips what the group already applied and
 * records progress after the handler resolved. No transaction is open
 * while the handler runs: on the embedded database a transaction waiting
 * for work on another connection would deadlock. A crash between the
 * handler and the record re-runs the handler, which its idempotence absorbs.
 */
export function idempotentHandler(pool: Pool, group: string, handler: EventHandler): EventHandler {
  return async (event, topic) => {
    await ensureConsumerProgressSchema(pool);
    const key = progressKey(group, event, topic);
    const { rows } = await pool.query<{ revision: number }>(
      'select revision from herald_consumer_progress where consumer_group = $1 and stream_id = $2',
      [key, event.streamId],
    );
    if (rows.length && event.revision <= rows[0].revision) return;
    await handler(event, topic);
    await pool.query(UPSERT, [key, event.streamId, event.revision]);
  };
}

/**
 * For read models: the projection's writes and the progress move in one
 * transaction, so a redelivered event can neither be applied twice nor be
 * recorded without its effect. `project` must use only the given client.
 */
export function idempotentProjection(
  pool: Pool,
  group: string,
  project: (event: RecordedEvent, topic: string, client: PoolClient) => Promise<void>,
): EventHandler {
  return async (event, topic) => {
    await ensureConsumerProgressSchema(pool);
    const key = progressKey(group, event, topic);
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      // Insert-then-lock: also serialises two deliveries of a stream's very first event.
      await client.query(
        'insert into herald_consumer_progress (consumer_group, stream_id, revision) values ($1, $2, -1) on conflict do nothing',
        [key, event.streamId],
      );
      const { rows } = await client.query<{ revision: number }>(
        'select revision from herald_consumer_progress where consumer_group = $1 and stream_id = $2 for update',
        [key, event.streamId],
      );
      if (event.revision <= rows[0].revision) {
        await client.query('rollback');
        return;
      }
      await project(event, topic, client);
      await client.query('update herald_consumer_progress set revision = $3 where consumer_group = $1 and stream_id = $2', [key, event.streamId, event.revision]);
      await client.query('commit');
    } catch (error) {
      // A connection that cannot even roll back goes away rather than back to the pool.
      broken = await client.query('rollback').then(() => false, () => true);
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/**
 * idempotentProjection for a whole batch: one transaction applies every
 * event the group has not applied yet (in delivery order, per stream after
 * its recorded revision) and moves the progress of every stream touched. A
 * redelivered batch, or a batch overlapping an earlier one, changes nothing
 * twice. One commit per batch instead of one per event.
 */
export function idempotentBatchProjection(
  pool: Pool,
  group: string,
  project: (event: RecordedEvent, topic: string, client: PoolClient) => Promise<void>,
  /**
   * Applies the batch's fresh events at once (in delivery order) instead of `project` one by one: a
   * read model that folds a batch into a few statements. It must leave the same rows as `project` on
   * each event in turn (the rebuild applies events one by one).
   */
  projectMany?: (items: readonly { event: RecordedEvent; topic: string }[], client: PoolClient) => Promise<void>,
): BatchHandler {
  return async (items) => {
    if (!items.length) return;
    await ensureConsumerProgressSchema(pool);
    const keyed = items.map((i) => ({ ...i, key: progressKey(group, i.event, i.topic) }));
    const pairs = [...new Map(keyed.map((k) => [`${k.key}\u0000${k.event.streamId}`, k] as const)).values()]
      .sort((a, b) => (a.key === b.key ? (a.event.streamId < b.event.streamId ? -1 : 1) : a.key < b.key ? -1 : 1));
    const groups = pairs.map((p) => p.key);
    const streams = pairs.map((p) => p.event.streamId);
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('begin');
      await client.query(
        `insert into herald_consumer_progress (consumer_group, stream_id, revision)
         select g, s, -1 from unnest($1::text[], $2::text[]) as t(g, s) on conflict do nothing`,
        [groups, streams],
      );
      // Locked in a fixed order (the sort above), so two batches never wait on each other in a cycle.
      const { rows } = await client.query<{ consumer_group: string; stream_id: string; revision: number }>(
        `select p.consumer_group, p.stream_id, p.revision from herald_consumer_progress p
           join unnest($1::text[], $2::text[]) with ordinality as t(g, s, n) on p.consumer_group = t.g and p.stream_id = t.s
          order by t.n for update of p`,
        [groups, streams],
      );
      const applied = new Map(rows.map((r) => [`${r.consumer_group}\u0000${r.stream_id}`, r.revision]));
      const moved = new Map<string, { group: string; stream: string; revision: number }>();
      const fresh: { event: RecordedEvent; topic: string }[] = [];
      for (const item of keyed) {
        const id = `${item.key}\u0000${item.event.streamId}`;
        if (item.event.revision <= (applied.get(id) ?? -1)) continue;
        if (projectMany) fresh.push({ event: item.event, topic: item.topic });
        else await project(item.event, item.topic, client);
        applied.set(id, item.event.revision);
        moved.set(id, { group: item.key, stream: item.event.streamId, revision: item.event.revision });
      }
      if (fresh.length) await projectMany!(fresh, client);
      if (moved.size) {
        const m = [...moved.values()];
        await client.query(
          `update herald_consumer_progress p set revision = t.r
             from unnest($1::text[], $2::text[], $3::int[]) as t(g, s, r)
            where p.consumer_group = t.g and p.stream_id = t.s`,
          [m.map((x) => x.group), m.map((x) => x.stream), m.map((x) => x.revision)],
        );
      }
      await client.query('commit');
    } catch (error) {
      broken = await client.query('rollback').then(() => false, () => true);
      throw error;
    } finally {
      client.release(broken);
    }
  };
}

/**
 * idempotentHandler for a whole batch, for handlers with idempotent effects
 * of their own: one read of the group's progress for every stream of the
 * batch, the handler on what the group has not applied yet (in delivery
 * order), then one write of the progress. No transaction is open while the
 * handler runs (see idempotentHandler). A crash between the handler and the
 * write re-runs the batch, which the handler's idempotence absorbs.
 */
export function idempotentBatchHandler(pool: Pool, group: string, handler: BatchHandler): BatchHandler {
  return async (items) => {
    if (!items.length) return;
    await ensureConsumerProgressSchema(pool);
    const keyed = items.map((i) => ({ ...i, key: progressKey(group, i.event, i.topic) }));
    const pairs = [...new Map(keyed.map((k) => [`${k.key}\u0000${k.event.streamId}`, k] as const)).values()];
    const { rows } = await pool.query<{ consumer_group: string; stream_id: string; revision: number }>(
      `select p.consumer_group, p.stream_id, p.revision from herald_consumer_progress p
         join unnest($1::text[], $2::text[]) as t(g, s) on p.consumer_group = t.g and p.stream_id = t.s`,
      [pairs.map((p) => p.key), pairs.map((p) => p.event.streamId)],
    );
    const applied = new Map(rows.map((r) => [`${r.consumer_group}\u0000${r.stream_id}`, r.revision]));
    const fresh = keyed.filter((k) => k.event.revision > (applied.get(`${k.key}\u0000${k.event.streamId}`) ?? -1));
    if (fresh.length) await handler(fresh.map(({ event, topic }) => ({ event, topic })));
    const moved = new Map<string, { group: string; stream: string; revision: number }>();
    for (const k of fresh) {
      const id = `${k.key}\u0000${k.event.streamId}`;
      if ((moved.get(id)?.revision ?? -1) < k.event.revision) moved.set(id, { group: k.key, stream: k.event.streamId, revision: k.event.revision });
    }
    if (!moved.size) return;
    const m = [...moved.values()];
    await pool.query(
      `insert into herald_consumer_progress (consumer_group, stream_id, revision) select * from unnest($1::text[], $2::text[], $3::int[])
       on conflict (consumer_group, stream_id) do update set revision = greatest(herald_consumer_progress.revision, excluded.revision)`,
      [m.map((x) => x.group), m.map((x) => x.stream), m.map((x) => x.revision)],
    );
  };
}
