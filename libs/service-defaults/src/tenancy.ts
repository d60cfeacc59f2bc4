import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';

/**
 * Row-level security for every table that holds a workspace's rows
 * (docs/security.md). Each such table has a `workspace_id` column, row-level
 * security enabled and forced (the owner is bound by it too), and one policy:
 * a row is visible and writable only when `herald.workspace` names its
 * workspace. Work for one workspace (every API read) runs in withTenant: a
 * transaction as the non-owner role herald_tenant with the workspace set for
 * that transaction only. Platform work across workspaces (projections, the
 * scheduler's claim loop, the relay) runs on connections that declared the
 * system scope '*', which herald_tenant can never use. A connection that set
 * nothing sees nothing.
 */
export const TENANT_SETTING = 'herald.workspace';
export const TENANT_ROLE = 'herald_tenant';
export const TENANT_POLICY = 'herald_tenant_isolation';

const SYSTEM = `(current_setting('${TENANT_SETTING}', true) = '*' AND current_user <> '${TENANT_ROLE}')`;
const TENANT = `current_setting('${TENANT_SETTING}', true)`;

/**
 * Tables whose rows belong to a workspace without a workspace_id column of
 * their own: through their parent row (visible only when the parent is) or
 * through an expression. Every other table of the schema without a
 * workspace_id column is a platform table and must be listed in
 * PLATFORM_TABLES (the CI check fails otherwise).
 */
export const INDIRECT_TENANT_TABLES: Record<string, string> = {
  herald_events: `(metadata->>'workspaceId') = ${TENANT}`,
  ingestion_upload_chunks: 'exists (select 1 from ingestion_uploads u where u.id = upload_id)',
  ingestion_upload_rejections: 'exists (select 1 from ingestion_uploads u where u.id = upload_id)',
  dispatch_session_messages: 'exists (select 1 from dispatch_sessions s where s.session_id = dispatch_session_messages.session_id)',
};

/** Tables that hold no workspace's data: the event store's bookkeeping, checkpoints, locks, gateway settings. */
export const PLATFORM_TABLES: ReadonlySet<string> = new Set([
  'herald_streams', 'herald_log_head', 'herald_checkpoints', 'herald_consumer_progress', 'herald_gateway_settings',
]);

function conditionFor(table: string): string {
  return `${SYSTEM} OR ${INDIRECT_TENANT_TABLES[table] ?? `workspace_id = ${TENANT}`}`;
}

/**
 * Puts every tenant table of the schema under the tenant policy: the tables
 * with a workspace_id column (found, so a new table is covered the moment it
 * exists) and INDIRECT_TENANT_TABLES. Idempotent and cheap when nothing is
 * missing; services call it after creating their tables.
 */
export async function secureTenantTables(pool: Pool): Promise<void> {
  if (!(await tenancyGaps(pool)).length && (await roleReady(pool))) return;
  const client = await pool.connect();
  try {
    // One process at a time: concurrent CREATE ROLE / CREATE POLICY race on the catalogue.
    await client.query('begin');
    await client.query(`select pg_advisory_xact_lock(hashtext('herald:tenancy'))`);
    await client.query(`do $$ begin
      if not exists (select 1 from pg_roles where rolname = '${TENANT_ROLE}') then create role ${TENANT_ROLE} nologin nobypassrls; end if;
      if not pg_has_role(current_user, '${TENANT_ROLE}', 'member') then execute format('grant ${TENANT_ROLE} to %I', current_user); end if;
    end $$`);
    await client.query(`grant usage on schema public to ${TENANT_ROLE}`);
    for (const { table } of await tenancyGaps(client)) {
      if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`not a table name: ${table}`);
      await client.query(table === 'herald_events' ? `grant select on ${table} to ${TENANT_ROLE}` : `grant select, insert, update, delete on ${table} to ${TENANT_ROLE}`);
      if (table !== 'herald_events') {
        // Its serial columns' sequences, so that a tenant's own insert works (the policy still decides which rows).
        const { rows: seqs } = await client.query<{ seq: string }>(
          `select s.relname as seq from pg_depend d join pg_class s on s.oid = d.objid and s.relkind = 'S' where d.refobjid = $1::regclass and d.deptype in ('a', 'i')`, [table]);
        for (const { seq } of seqs) await client.query(`grant usage on sequence ${seq} to ${TENANT_ROLE}`);
      }
      await client.query(`alter table ${table} enable row level security`);
      await client.query(`alter table ${table} force row level security`);
      const { rowCount } = await client.query(`select 1 from pg_policies where tablename = $1 and policyname = $2`, [table, TENANT_POLICY]);
      const condition = conditionFor(table);
      if (!rowCount) await client.query(`create policy ${TENANT_POLICY} on ${table} for all using (${condition}) with check (${condition})`);
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function roleReady(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query(`select exists (select 1 from pg_roles where rolname = $1) and pg_has_role(current_user, $1, 'member') as ok`, [TENANT_ROLE]).catch(() => ({ rows: [{ ok: false }] }));
  return Boolean(rows[0]?.ok);
}

/**
 * Every connection of this pool works across workspaces: the platform's own pools (projections, loops, the
 * relay). The scope is a startup parameter of each connection (`options=-c herald.workspace=*`), so it holds
 * from the first statement on and no query of the pool can run without it. Call before the pool's first use.
 */
export function useSystemScope(pool: Pool): Pool {
  // pg-pool creates every client from these options.
  const options = (pool as unknown as { options: { options?: string } }).options;
  options.options = [options.options, `-c ${TENANT_SETTING}=*`].filter(Boolean).join(' ');
  return pool;
}

/** Runs fn in a transaction that sees the workspace's rows only. Keep it short: on the embedded database a transaction holds the only connection. */
export async function withTenant<T>(pool: Pool, workspaceId: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`set local role ${TENANT_ROLE}`);
    await client.query(`select set_config('${TENANT_SETTING}', $1, true)`, [workspaceId]);
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** One query in the workspace's scope. */
export function tenantQuery<R extends QueryResultRow = any>(pool: Pool, workspaceId: string, text: string, values?: unknown[]): Promise<QueryResult<R>> {
  return withTenant(pool, workspaceId, (client) => client.query<R>(text, values));
}

/** Tenant tables (a workspace_id column, or INDIRECT_TENANT_TABLES) whose row-level security is missing, not forced, or without the policy. */
export async function tenancyGaps(db: Pick<Pool, 'query'>): Promise<{ table: string; problem: string }[]> {
  const { rows } = await db.query<{ table: string; rls: boolean; forced: boolean; policy: boolean }>(`
    select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
           exists (select 1 from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname and p.policyname = $1) as policy
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and (c.relname = any($2::text[])
           or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped))
    order by 1`, [TENANT_POLICY, Object.keys(INDIRECT_TENANT_TABLES)]);
  return rows.flatMap((r) => [
    ...(r.rls ? [] : [{ table: r.table, problem: 'row-level security is not enabled' }]),
    ...(r.forced ? [] : [{ table: r.table, problem: 'row-level security is not forced' }]),
    ...(r.policy ? [] : [{ table: r.table, problem: `no ${TENANT_POLICY} policy` }]),
  ]);
}

/** Tables of the public schema that are neither tenant tables nor listed platform tables: each needs a decision. */
export async function unclassifiedTables(db: Pick<Pool, 'query'>): Promise<string[]> {
  const { rows } = await db.query<{ table: string }>(`
    select c.relname as table from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') and not (c.relname = any($1::text[]))
      and not exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'workspace_id' and not a.attisdropped)
    order by 1`, [Object.keys(INDIRECT_TENANT_TABLES)]);
  return rows.map((r) => r.table).filter((t) => !PLATFORM_TABLES.has(t));
}
