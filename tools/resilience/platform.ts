import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { PoolClient } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { HEADERS } from '@herald/contracts';
import { createTestDatabase, eventually, freePort, startService, type ServiceProcess, type TestDatabase } from '@herald/testing';
import { SERVICE_NAMES, type ServiceName } from '../../services/gateway/e2e/harness';

/*
 * The distributed platform of services/gateway/e2e/harness.ts (six processes
 * over real Kafka and a fresh PostgreSQL database owned by a non-superuser
 * role), with what fault injection needs on top: a per-process environment,
 * each process named in pg_stat_activity (PGAPPNAME) so the test can tell
 * which one holds the relay's leader lock, and a way to hand that lock to a
 * chosen process.
 */

export const RELAY_LOCK = 'herald-relay:default';
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** The line a service logs once it serves (libs/service-clients/src/run-service.ts, the gateway's listen()); not just any "already". */
const READY = /\[\w+\] ready\b|gateway listening on/;
const ANSI = /\u001b\[[0-9;]*m/g;

export interface Proc extends ServiceProcess {
  /** application_name of the process's PostgreSQL sessions. */
  readonly app: string;
}

export interface Platform {
  readonly base: string;
  readonly db: TestDatabase;
  readonly env: Record<string, string>;
  readonly topicPrefix: string;
  processes(name: ServiceName): Proc[];
  all(): Proc[];
  start(name: ServiceName, extraEnv?: Record<string, string>): Proc;
  /** kill -9 of every process of the service; resolves when they are gone. */
  kill(name: ServiceName): Promise<void>;
  /** application_name of the process holding the relay's leader lock, or null. */
  relayLeader(): Promise<string | null>;
  /**
   * Makes `proc` the relay leader (with `holdRelayLock`, the test holds the
   * lock from the start): every other process is paused (SIGSTOP), the test
   * releases the lock, waits until `proc` took it and resumes the others,
   * whose relays then stay followers.
   */
  makeLeader(proc: Proc): Promise<void>;
  waitReady(procs?: Proc[]): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startPlatform(options: { prefix: string; env?: Record<string, string>; services?: readonly ServiceName[]; holdRelayLock?: boolean }): Promise<Platform> {
  const db = await createTestDatabase(options.prefix, { owner: true });
  const ports: Record<string, number> = {};
  for (const name of SERVICE_NAMES) ports[name] = await freePort();
  const topicPrefix = `res-${randomBytes(4).toString('hex')}.`;
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: BROKERS.join(','),
    KAFKA_TOPIC_PREFIX: topicPrefix,
    CAMPAIGNS_GRPC_URL: `127.0.0.1:${ports.campaigns}`,
    INGESTION_GRPC_URL: `127.0.0.1:${ports.ingestion}`,
    STRATEGIES_GRPC_URL: `127.0.0.1:${ports.strategies}`,
    SCHEDULER_GRPC_URL: `127.0.0.1:${ports.scheduler}`,
    DISPATCH_GRPC_URL: `127.0.0.1:${ports.dispatch}`,
    HERALD_STRATEGY_WORKERS: '1',
    ...options.env,
  };
  const running = new Map<ServiceName, Proc[]>(SERVICE_NAMES.map((n) => [n, []]));
  const base = `http://127.0.0.1:${ports.gateway}`;
  let started = 0;
  const alive = (p: Proc) => p.child.exitCode === null && !p.child.signalCode;
  const start = (name: ServiceName, extraEnv: Record<string, string> = {}): Proc => {
    // A second live replica of a gRPC service listens elsewhere; the gateway keeps calling the first address.
    const replica = running.get(name)!.filter(alive).length;
    const portEnv = name === 'gateway' ? { PORT: String(ports.gateway) } : replica ? { [`${name.toUpperCase()}_GRPC_URL`]: '127.0.0.1:0' } : {};
    const app = `herald-${name}-${++started}`;
    const p = Object.assign(startService(name, { ...env, ...portEnv, PGAPPNAME: app, ...extraEnv }), { app });
    running.get(name)!.push(p);
    return p;
  };
  const all = () => [...running.values()].flat();
  const logs = () => all().map((s) => `--- ${s.app}${alive(s) ? '' : ` (exited ${s.child.exitCode ?? s.child.signalCode})`}\n${s.output().slice(-3000)}`).join('\n');
  const waitReady = async (procs: Proc[] = all().filter(alive)) => {
    await eventually(async () => {
      for (const s of procs) if (!alive(s)) throw new Error(`${s.app} exited\n${logs()}`);
      return procs.every((s) => READY.test(s.output().replace(ANSI, ''))) && (!running.get('gateway')!.some(alive) || (await fetch(`${base}/health`).then((r) => r.ok, () => false)));
    }, { what: 'the services to start', timeoutMs: 120_000, intervalMs: 200 });
  };
  const relayLeader = async () => {
    const { rows } = await db.pool.query<{ app: string }>(
      `select a.application_name as app from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.database = (select oid from pg_database where datname = current_database())
          and l.classid::bigint = ((hashtext($1)::bigint >> 32) & 4294967295) and l.objid::bigint = (hashtext($1)::bigint & 4294967295)`,
      [RELAY_LOCK],
    );
    return rows[0]?.app ?? null;
  };

  // Held by the test (application_name 'resilience-test') until makeLeader hands it on: no relay publishes before.
  let lock: PoolClient | null = null;
  if (options.holdRelayLock) {
    lock = await db.pool.connect();
    await lock.query(`set application_name = 'resilience-test'`);
    await lock.query('select pg_advisory_lock(hashtext($1))', [RELAY_LOCK]);
  }

  try {
    for (const name of options.services ?? SERVICE_NAMES) start(name);
    await waitReady();
  } catch (error) {
    await Promise.all(all().map((s) => s.kill('SIGKILL')));
    lock?.release();
    await db.drop();
    throw error;
  }

  return {
    base, db, env, topicPrefix,
    processes: (name) => running.get(name)!,
    all,
    start,
    async kill(name) {
      await Promise.all(running.get(name)!.map((p) => p.kill('SIGKILL')));
      running.set(name, []);
    },
    relayLeader,
    async makeLeader(proc) {
      if (!lock) throw new Error('makeLeader needs startPlatform({ holdRelayLock: true })');
      const held = lock;
      lock = null;
      const paused = all().filter((p) => p !== proc && alive(p));
      for (const p of paused) p.child.kill('SIGSTOP');
      try {
        await held.query('select pg_advisory_unlock(hashtext($1))', [RELAY_LOCK]);
        await eventually(async () => (await relayLeader()) === proc.app, { what: `${proc.app} to lead the relay`, timeoutMs: 30_000, intervalMs: 50 });
      } finally {
        for (const p of paused) p.child.kill('SIGCONT');
        held.release();
      }
    },
    waitReady,
    logs,
    async stop() {
      lock?.release();
      for (const p of all()) if (alive(p)) p.child.kill('SIGCONT');
      await Promise.all(all().map((s) => s.kill()));
      await db.drop();
    },
  };
}

/** Peak resident set size of a process (VmHWM) since it started or since resetPeakRss, in bytes. */
export function peakRss(pid: number): number {
  return statusKb(pid, 'VmHWM') * 1024;
}

/** Resident set size of a process now (VmRSS), in bytes. */
export function rss(pid: number): number {
  return statusKb(pid, 'VmRSS') * 1024;
}

/** Sets the process's VmHWM back to its current RSS (Linux: "5" to /proc/<pid>/clear_refs), so the next peak is the next request's. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

function statusKb(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** What one topic holds from its first offset to its end: (event id, global position) per message. */
export async function readTopic(topic: string): Promise<{ eventId: string; position: number }[]> {
  const kafka = new Kafka({ clientId: `resilience-reader-${randomBytes(3).toString('hex')}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  const out: { eventId: string; position: number }[] = [];
  if (!remaining.size) return out;
  const consumer = kafka.consumer({ groupId: `resilience-reader-${randomBytes(6).toString('hex')}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => { done = resolve; });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          out.push({ eventId: String(m.headers?.[HEADERS.eventId] ?? ''), position: Number(String(m.headers?.[HEADERS.position] ?? '-1')) });
          const end = remaining.get(batch.partition);
          if (end !== undefined && Number(m.offset) + 1 >= end) remaining.delete(batch.partition);
        }
        if (!remaining.size) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([finished, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`reading ${topic} timed out`)), 120_000); })]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** A consumer group's committed offsets against the ends of a topic's partitions, for failure messages. */
export async function groupLag(group: string, topic: string): Promise<string> {
  const kafka = new Kafka({ clientId: `resilience-lag-${randomBytes(3).toString('hex')}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const { groups } = await admin.describeGroups([group]);
    const parts = ends.map((e) => `p${e.partition}: ${committed?.partitions.find((c) => c.partition === e.partition)?.offset ?? '-'}/${e.high}`);
    return `${group} on ${topic}: ${parts.join(', ')}; group ${groups[0]?.state} with ${groups[0]?.members.length} members`;
  } finally {
    await admin.disconnect();
  }
}
