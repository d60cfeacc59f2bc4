import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, eventually, freePort, startService, type ServiceProcess, type TestDatabase } from '@herald/testing';
import { api } from './walking-skeleton';

/** `npm start` in a fresh data folder: one process, embedded database. */
export async function startEmbedded(env: Record<string, string> = {}): Promise<{ base: string; dataDir: string; herald: ServiceProcess; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const herald = startService('gateway', { PORT: String(port), HERALD_DATA_DIR: dataDir, ...env });
  await eventually(async () => (await api(base, 'GET', '/health')).status === 200, { what: 'the embedded platform to start', timeoutMs: 60_000 })
    .catch((error: Error) => { throw new Error(`${error.message}\n${herald.output()}`); });
  return {
    base,
    dataDir,
    herald,
    async stop() {
      await herald.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function file(name: string, content: string | Buffer, type = 'application/octet-stream'): Blob & { name: string } {
  return Object.assign(new Blob([content], { type }), { name });
}

export function form(fields: Record<string, string | (Blob & { name: string })>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') f.set(k, v);
    else f.set(k, v, v.name);
  }
  return f;
}

/** A service's "ready" line (Nest's console format or JSON logs), not any line with the word in it ("already"). */
const READY = /\] ready\b|"message":"ready\b|gateway listening on/;
const plain = (log: string) => log.replace(/\x1b\[[0-9;]*m/g, '');

export const SERVICE_NAMES = ['strategies', 'campaigns', 'ingestion', 'scheduler', 'dispatch', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface DistributedPlatform {
  readonly base: string;
  readonly db: TestDatabase;
  readonly env: Record<string, string>;
  /** The processes of a service (replicas beyond the first are added with `start`). */
  processes(name: ServiceName): ServiceProcess[];
  /** Starts one more process of the service (a replica, or a restart after a kill). */
  start(name: ServiceName, extraEnv?: Record<string, string>): ServiceProcess;
  /** kill -9 of every process of the service. */
  kill(name: ServiceName): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Six processes over the machine's PostgreSQL and a real Kafka broker, on a
 * database owned by a role that is not a superuser (as in production: row-level
 * security binds the services' own connections) and topics of their own.
 */
export async function startDistributed(options: { env?: Record<string, string>; prefix?: string } = {}): Promise<DistributedPlatform> {
  const db = await createTestDatabase(options.prefix ?? 'herald_e2e', { owner: true });
  const ports: Record<string, number> = {};
  for (const name of SERVICE_NAMES) ports[name] = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    KAFKA_TOPIC_PREFIX: `e2e-${randomBytes(4).toString('hex')}.`,
    CAMPAIGNS_GRPC_URL: `127.0.0.1:${ports.campaigns}`,
    INGESTION_GRPC_URL: `127.0.0.1:${ports.ingestion}`,
    STRATEGIES_GRPC_URL: `127.0.0.1:${ports.strategies}`,
    SCHEDULER_GRPC_URL: `127.0.0.1:${ports.scheduler}`,
    DISPATCH_GRPC_URL: `127.0.0.1:${ports.dispatch}`,
    ...options.env,
  };
  const running = new Map<ServiceName, ServiceProcess[]>(SERVICE_NAMES.map((n) => [n, []]));
  const base = `http://127.0.0.1:${ports.gateway}`;
  // The process of each service that listens on the address the gateway calls (a Kubernetes Service's endpoint).
  const holders = new Map<ServiceName, ServiceProcess>();
  const alive = (p: ServiceProcess | undefined) => Boolean(p && p.child.exitCode === null && !p.child.signalCode);
  const start = (name: ServiceName, extraEnv: Record<string, string> = {}) => {
    // Another replica of a gRPC service listens elsewhere while the address's holder lives; a restart after the
    // holder was killed takes the address over, so the gateway reaches the service again.
    const holds = !alive(holders.get(name));
    const portEnv = name === 'gateway' ? { PORT: String(ports.gateway) } : holds ? {} : { [`${name.toUpperCase()}_GRPC_URL`]: `127.0.0.1:0` };
    const p = startService(name, { ...env, ...portEnv, ...extraEnv });
    if (holds) holders.set(name, p);
    running.get(name)!.push(p);
    return p;
  };
  const all = () => [...running.values()].flat();
  const logs = () => all().map((s) => `--- ${s.name}\n${s.output().slice(-3000)}`).join('\n');
  for (const name of SERVICE_NAMES) start(name);
  await eventually(async () => {
    for (const s of all()) if (s.child.exitCode !== null) throw new Error(`${s.name} exited\n${logs()}`);
    return all().every((s) => READY.test(plain(s.output()))) && (await fetch(`${base}/health`).then((r) => r.ok, () => false));
  }, { what: 'six services to start', timeoutMs: 90_000 });
  return {
    base, db, env,
    processes: (name) => running.get(name)!,
    start,
    async kill(name) {
      await Promise.all(running.get(name)!.map((p) => p.kill('SIGKILL')));
      running.set(name, []);
    },
    logs,
    async stop() {
      await Promise.all(all().map((s) => s.kill()));
      await db.drop();
    },
  };
}
