import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import type { HeraldConfig } from './config';
import { ProtocolSafeQueryQueue, type PgliteLike } from './pglite-queue';
import { useSystemScope } from './tenancy';

/**
 * Session settings of every connection to PostgreSQL (the startup `options`
 * parameter; HERALD_PG_OPTIONS replaces them, and an empty value sends none,
 * for a connection pooler that refuses the parameter). JIT off by default:
 * Herald's statements are short, and a cost estimate inflated by stale
 * statistics (a log that grew since its last analyze) made PostgreSQL compile
 * a read of a few streams, 20-300 ms of JIT for under a millisecond of work.
 */
export const POSTGRES_SESSION_OPTIONS: string | undefined = (process.env.HERALD_PG_OPTIONS ?? '-c jit=off') || undefined;

export interface Database {
  readonly pool: Pool;
  /** True on PGlite: one connection works at a time, so no transaction may wait on another connection. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * The distributed mode connects to PostgreSQL; the embedded mode runs PGlite
 * (PostgreSQL compiled to WebAssembly) in the process, keeps it in the data
 * folder and serves it on a loopback socket so the same pg code runs on both.
 */
export async function openDatabase(config: Pick<HeraldConfig, 'databaseUrl' | 'dataDir'>): Promise<Database> {
  if (config.databaseUrl) {
    const pool = useSystemScope(new Pool({ connectionString: config.databaseUrl, max: 10, options: POSTGRES_SESSION_OPTIONS }));
    pool.on('error', () => undefined); // idle client errors surface on the next query
    return { pool, embedded: false, close: () => pool.end() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const dir = resolve(config.dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 32 });
  // Handlers take the server's queue when they connect: replace it before start().
  (server as unknown as { queryQueue: unknown }).queryQueue = new ProtocolSafeQueryQueue(db as unknown as PgliteLike);
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } } }).server?.address();
  const port = address?.port ?? Number((server as unknown as { port: number }).port);
  // The embedded database has one user, its superuser, to whom row-level security does not apply: no scope to declare.
  const pool = new Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 8 });
  pool.on('error', () => undefined);
  return {
    pool,
    embedded: true,
    async close() {
      await pool.end();
      await server.stop();
      await db.close();
    },
  };
}
