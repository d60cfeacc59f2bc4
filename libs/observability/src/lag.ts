import type { Pool } from 'pg';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { heraldMetrics } from './metrics';
import { consumerGroups } from './consumer';

/**
 * Relay lag (and, on the embedded bus, consumer lag) from the event store's
 * own bookkeeping: head position minus the durable checkpoints
 * ('relay:<name>', 'bus:<group>').
 */
export function storeLagProbe(pool: Pool, options: { consumers: boolean }): () => Promise<void> {
  return async () => {
    const { rows } = await pool.query<{ name: string; lag: string }>(
      `select c.name, greatest(h.position - c.position, 0) as lag from herald_checkpoints c cross join herald_log_head h
       where c.name like 'relay:%' ${options.consumers ? `or c.name like 'bus:%'` : ''}`,
    );
    let relay = 0;
    for (const r of rows) {
      if (r.name.startsWith('relay:')) relay = Math.max(relay, Number(r.lag));
      else if (consumerGroups().has(r.name.slice(4))) heraldMetrics.consumerLag.set({ group: r.name.slice(4) }, Number(r.lag));
    }
    if (rows.some((r) => r.name.startsWith('relay:'))) heraldMetrics.relayLag.set(relay);
  };
}

/** Consumer lag on Kafka: per group of this process, the sum over its partitions of log-end minus committed offset. */
export function kafkaLagProbe(options: { brokers: string[]; topicPrefix: string; clientId: string }): { probe: () => Promise<void>; close(): Promise<void> } {
  let admin: Promise<Admin> | null = null;
  const connect = () => {
    if (!admin) {
      const a = new Kafka({ clientId: `${options.clientId}-lag`, brokers: options.brokers, logLevel: logLevel.NOTHING }).admin();
      admin = a.connect().then(() => a);
      admin.catch(() => (admin = null));
    }
    return admin;
  };
  return {
    probe: async () => {
      if (!consumerGroups().size) return;
      const client = await connect();
      for (const [group, topics] of consumerGroups()) {
        const physical = topics.map((t) => options.topicPrefix + t);
        const committed = await client.fetchOffsets({ groupId: options.topicPrefix + group, topics: physical });
        let lag = 0;
        for (const t of committed) {
          const ends = new Map((await client.fetchTopicOffsets(t.topic)).map((p) => [p.partition, Number(p.high)]));
          for (const p of t.partitions) {
            const end = ends.get(p.partition) ?? 0;
            // -1: nothing committed yet, a new group reads from the beginning.
            const done = Number(p.offset) < 0 ? 0 : Number(p.offset);
            lag += Math.max(end - done, 0);
          }
        }
        heraldMetrics.consumerLag.set({ group }, lag);
      }
    },
    close: async () => {
      const a = admin;
      admin = null;
      await a?.then((c) => c.disconnect()).catch(() => undefined);
    },
  };
}
