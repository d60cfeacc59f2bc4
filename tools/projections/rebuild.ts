import type { Pool, PoolClient } from 'pg';
import { topicsFor, type RecordedEvent } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { ensureConsumerProgressSchema, progressKey, streamPrefixesFor } from '@herald/bus';
import type { ProjectionDefinition } from './registry';
import { replayLog } from './replay-log';
import { secureTenantTables } from '@herald/service-defaults';

export interface RebuildOptions {
  /**
   * False on the embedded database: nothing else runs (the server is
   * stopped), and a transaction must not wait for reads on another
   * connection there (docs/adr/0003).
   */
  readonly concurrentWriters: boolean;
  readonly batchSize?: number;
  readonly onProgress?: (name: string, position: number, head: number) => void;
}

export interface RebuildReport {
  readonly name: string;
  readonly events: number;
  readonly position: number;
  readonly rows: Record<string, number>;
}

/**
 * Rebuilds one read model from the log without stopping its service:
 * 1. replays the whole log into the same tables in a shadow schema
 *    (`herald_rebuild_<name>`), in global order, in batches;
 * 2. takes the progress table, then the live tables, in the order live
 *    consumers take them (no deadlock), replays the tail that arrived
 *    meanwhile, replaces the group's progress with the replay's, and swaps
 *    the shadow tables in. Live consumers wait on the locks for that moment
 *    and go on from the new progress: an event is neither lost nor applied
 *    twice.
 */
export async function rebuildProjection(pool: Pool, store: EventStore, def: ProjectionDefinition, options: RebuildOptions): Promise<RebuildReport> {
  const shadow = `herald_rebuild_${def.name.replace(/[^a-z0-9]/g, '_')}`;
  const prefixes = [...new Set(def.topics.flatMap(streamPrefixesFor))];
  const topics = new Set(def.topics);
  const batchSize = options.batchSize ?? 2000;
  const progress = new Map<string, { key: string; streamId: string; revision: number }>();
  let position = 0;
  let events = 0;

  await ensureConsumerProgressSchema(pool);
  await pool.query(`drop schema if exists ${shadow} cascade`);
  await pool.query(`create schema ${shadow}`);

  const apply = async (client: PoolClient, batch: readonly RecordedEvent[]) => {
    for (const event of batch) {
      for (const topic of topicsFor(event)) {
        if (!topics.has(topic)) continue;
        await def.project(event, topic, client);
        const key = progressKey(def.group, event, topic);
        progress.set(`${key}\u0000${event.streamId}`, { key, streamId: event.streamId, revision: event.revision });
      }
      events += 1;
    }
    if (batch.length) position = batch[batch.length - 1].position;
  };
  /** The next batch up to `until` (events after it are left to the live consumers). */
  const read = async (until: number) => {
    if (position >= until) return [];
    const batch = await store.readAll({ after: position, maxCount: batchSize, streamPrefixes: prefixes.length ? prefixes : undefined });
    const upTo = batch.filter((e) => e.position <= until);
    // Nothing of ours up to `until`: move there so the loops end.
    if (!upTo.length) position = until;
    return upTo;
  };
  const inShadow = async <T>(work: (client: PoolClient) => Promise<T>, client?: PoolClient): Promise<T> => {
    const own = client ?? (await pool.connect());
    try {
      if (!client) await own.query('begin');
      // `set local`: on the embedded database connections share one backend, a session setting would leak.
      await own.query(`set local search_path to ${shadow}, public`);
      const result = await work(own);
      await own.query('set local search_path to public');
      if (!client) await own.query('commit');
      return result;
    } catch (error) {
      if (!client) await own.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      if (!client) own.release();
    }
  };

  await inShadow((c) => c.query(def.schema));
  // Bulk: everything up to the head as it was at the start, read outside any transaction.
  const head = await store.headPosition();
  for await (const batch of replayLog(store, { after: position, until: head, pageSize: batchSize, streamPrefixes: prefixes.length ? prefixes : undefined })) {
    await inShadow((c) => apply(c, batch));
    options.onProgress?.(def.name, position, head);
  }
  position = Math.max(position, head);

  // Swap, under the locks live consumers take (progress first, then the tables).
  const client = await pool.connect();
  try {
    if (!options.concurrentWriters) {
      const end = await store.headPosition();
      for (let b = await read(end); b.length; b = await read(end)) await inShadow((c) => apply(c, b));
    }
    await client.query('begin');
    await client.query('lock table herald_consumer_progress in share row exclusive mode');
    for (const t of def.tables) await client.query(`lock table public.${t} in access exclusive mode`);
    if (options.concurrentWriters) {
      // The tail up to the head as it is now; later events reach the live consumers after the swap.
      const end = await store.headPosition();
      for (let b = await read(end); b.length; b = await read(end)) await inShadow((c) => apply(c, b), client);
    }
    await client.query(`delete from herald_consumer_progress where consumer_group = $1 or consumer_group like $2`, [def.group, `${def.group}@%`]);
    const rows = [...progress.values()];
    for (let i = 0; i < rows.length; i += 5000) {
      const slice = rows.slice(i, i + 5000);
      await client.query(
        `insert into herald_consumer_progress (consumer_group, stream_id, revision) select * from unnest($1::text[], $2::text[], $3::int[])`,
        [slice.map((r) => r.key), slice.map((r) => r.streamId), slice.map((r) => r.revision)],
      );
    }
    for (const t of def.tables) {
      await client.query(`drop table if exists public.${t}`);
      await client.query(`alter table ${shadow}.${t} set schema public`);
    }
    await client.query(`drop schema ${shadow} cascade`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    await pool.query(`drop schema if exists ${shadow} cascade`).catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await def.afterSwap?.(pool);
  // The swapped-in tables are new: they get the tenant policy again.
  await secureTenantTables(pool);

  const counts: Record<string, number> = {};
  for (const t of def.tables) counts[t] = Number((await pool.query(`select count(*)::int as n from public.${t}`)).rows[0].n);
  return { name: def.name, events, position, rows: counts };
}
