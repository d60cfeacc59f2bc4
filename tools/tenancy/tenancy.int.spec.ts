import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { PostgresEventStore } from '@herald/event-store';
import { ensureConsumerProgressSchema } from '@herald/bus';
import { newEvent } from '@herald/contracts';
import {
  ensureCampaignLogSchema, secureTenantTables, tenancyGaps, tenantQuery, unclassifiedTables, useSystemScope, withTenant, TENANT_ROLE,
} from '@herald/service-defaults';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { PROJECTIONS } from '../projections/registry';
import { INGESTION_SCHEMA } from '../../services/ingestion/src/uploads/schema';
import { ensureSchedulerSchema } from '../../services/scheduler/src/schema';
import { DISPATCH_SCHEMAS } from '../../services/dispatch/src/dispatch-runtime';
import { IdentityStore } from '../../services/gateway/src/auth/identity-store';

/** Every table every service creates, as the services create them, as a database owner that is not a superuser (production's case). */
async function createEverySchema(pool: Pool): Promise<void> {
  await (await PostgresEventStore.create(pool, { notify: false })).close();
  await ensureConsumerProgressSchema(pool);
  await ensureCampaignLogSchema(pool);
  for (const p of PROJECTIONS) await pool.query(p.schema);
  await pool.query(INGESTION_SCHEMA);
  await ensureSchedulerSchema(pool);
  for (const sql of DISPATCH_SCHEMAS) await pool.query(sql);
  await new IdentityStore(pool).ensureSchema();
  await secureTenantTables(pool);
}

describe('tenancy: row-level security on every tenant table', () => {
  let db: TestDatabase;
  let owner: Pool;
  let bare: Pool;

  before(async () => {
    db = await createTestDatabase('herald_tenancy', { owner: true });
    owner = useSystemScope(new Pool({ connectionString: db.url, max: 4 }));
    bare = new Pool({ connectionString: db.url, max: 2 });
    await createEverySchema(owner);
  });
  after(async () => {
    await owner?.end();
    await bare?.end();
    await db?.drop();
  });

  // The CI check: a new table with a workspace_id column and no forced policy fails here, and so does a new table nobody classified.
  it('leaves no tenant table without forced row-level security and its policy, and no table unclassified', async () => {
    assert.deepEqual(await tenancyGaps(db.pool), []);
    assert.deepEqual(await unclassifiedTables(db.pool), [], 'a table without workspace_id must be a listed platform table or an indirect tenant table (libs/service-defaults/src/tenancy.ts)');
    const { rows } = await db.pool.query(`select rolsuper, rolbypassrls from pg_roles where rolname = $1`, [TENANT_ROLE]);
    assert.deepEqual(rows[0], { rolsuper: false, rolbypassrls: false });
  });

  it('shows a workspace its own rows only, refuses writes into another, and shows nothing without a tenant', async () => {
    await owner.query(`insert into campaign_log (campaign_id, workspace_id, level, source, message) values ('c1', 'ws-a', 'info', 't', 'a'), ('c2', 'ws-b', 'info', 't', 'b')`);
    await owner.query(`insert into ingestion_uploads (id, workspace_id, campaign_id, file_name, state) values ('u-a', 'ws-a', 'c1', 'a.csv', 'completed'), ('u-b', 'ws-b', 'c2', 'b.csv', 'completed')`);
    await owner.query(`insert into ingestion_upload_rejections (upload_id, row, message) values ('u-a', 1, 'x'), ('u-b', 1, 'y')`);
    const store = await PostgresEventStore.create(owner, { notify: false });
    await store.append('campaign-c1', [newEvent('CampaignCreated', { campaignId: 'c1', name: 'A', description: '', labels: [] }, { workspaceId: 'ws-a' })], 'no_stream');
    await store.append('campaign-c2', [newEvent('CampaignCreated', { campaignId: 'c2', name: 'B', description: '', labels: [] }, { workspaceId: 'ws-b' })], 'no_stream');
    await store.close();

    assert.deepEqual((await tenantQuery(owner, 'ws-a', 'select message from campaign_log')).rows, [{ message: 'a' }]);
    assert.deepEqual((await tenantQuery(owner, 'ws-b', 'select id from ingestion_uploads')).rows, [{ id: 'u-b' }]);
    // A child table follows its parent: B's rejections are invisible to A.
    assert.deepEqual((await tenantQuery(owner, 'ws-a', 'select message from ingestion_upload_rejections')).rows, [{ message: 'x' }]);
    assert.deepEqual((await tenantQuery(owner, 'ws-a', `select data->>'name' as name from herald_events`)).rows, [{ name: 'A' }]);
    // Even a query that names the other workspace explicitly finds nothing of it.
    assert.equal((await tenantQuery(owner, 'ws-a', `select * from campaign_log where workspace_id = 'ws-b'`)).rowCount, 0);
    await assert.rejects(
      withTenant(owner, 'ws-a', (c) => c.query(`insert into campaign_log (campaign_id, workspace_id, level, source, message) values ('c2', 'ws-b', 'info', 't', 'forged')`)),
      /row-level security/,
    );
    await assert.rejects(withTenant(owner, 'ws-a', (c) => c.query(`insert into herald_events (event_id) values (gen_random_uuid())`)), /permission denied/);
    // The tenant role cannot claim the system scope.
    assert.equal((await withTenant(owner, 'ws-a', async (c) => {
      await c.query(`select set_config('herald.workspace', '*', true)`);
      return (await c.query('select * from campaign_log')).rowCount;
    })), 0);
    // A connection that declared no scope (a forgotten setting) sees nothing, even as the tables' owner.
    for (const table of ['campaign_log', 'ingestion_uploads', 'ingestion_upload_rejections', 'herald_events', 'herald_api_keys']) {
      assert.equal((await bare.query(`select * from ${table}`)).rowCount, 0, table);
    }
    // The platform's own connections (system scope) see every workspace.
    assert.equal((await owner.query('select * from campaign_log')).rowCount, 2);
  });

  it('is idempotent: running the setup again (every service start) changes nothing', async () => {
    const before = (await db.pool.query(`select tablename, policyname, qual from pg_policies order by 1`)).rows;
    await createEverySchema(owner);
    assert.deepEqual((await db.pool.query(`select tablename, policyname, qual from pg_policies order by 1`)).rows, before);
  });
});
