import { Pool } from 'pg';
import { randomBytes } from 'node:crypto';

/** The machine's PostgreSQL, as a superuser able to create databases. */
export const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  readonly pool: Pool;
  drop(): Promise<void>;
}

/**
 * Creates a fresh database for one test file and drops it afterwards. With
 * `owner`, the database belongs to a new login role that is not a superuser
 * (as in production, where row-level security binds the platform's own
 * connections): `url` connects as that role, `pool` stays a superuser's for
 * the test's own checks.
 */
export async function createTestDatabase(prefix = 'herald_test', options: { owner?: boolean } = {}): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new Pool({ connectionString: ADMIN_URL, max: 1 });
  const owner = options.owner ? `${name}_owner` : null;
  if (owner) await admin.query(`create role ${owner} login createrole nosuperuser nobypassrls`);
  await admin.query(`create database ${name}${owner ? ` owner ${owner}` : ''}`);
  await admin.end();
  const superUrl = withDatabase(ADMIN_URL, name);
  const url = owner ? asUser(superUrl, owner) : superUrl;
  const pool = new Pool({ connectionString: superUrl, max: 10 });
  // Connections still open when the database is dropped (force) end with an error: expected then.
  pool.on('error', () => undefined);
  return {
    url,
    name,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const a = new Pool({ connectionString: ADMIN_URL, max: 1 });
      await a.query(`drop database if exists ${name} with (force)`);
      if (owner) await a.query(`drop role if exists ${owner}`);
      await a.end();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function asUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}
