import type { Pool } from 'pg';
import { tenantQuery } from './tenancy';

/** The campaign engine log (Show Logs): strategy output and errors included. */
export interface CampaignLogEntry {
  campaignId: string;
  workspaceId: string;
  level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
  source: string;
  contactKey?: string | null;
  message: string;
  details?: Record<string, unknown>;
}

/** Every service creates it at start: concurrent CREATE TABLE IF NOT EXISTS collide in the catalogue, so creators take turns. */
export async function ensureCampaignLogSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select pg_advisory_xact_lock(hashtext('herald_campaign_log_schema'))`);
    await client.query(CAMPAIGN_LOG_SCHEMA);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

const CAMPAIGN_LOG_SCHEMA = `
    create table if not exists campaign_log (
      id bigserial primary key,
      campaign_id text not null,
      workspace_id text not null,
      level text not null,
      source text not null,
      contact_key text,
      message text not null,
      details jsonb,
      created_at timestamptz not null default now()
    );
    create index if not exists campaign_log_campaign on campaign_log (campaign_id, id);
`;

export async function writeCampaignLog(pool: Pool, entries: readonly CampaignLogEntry[]): Promise<void> {
  if (!entries.length) return;
  await pool.query(
    `insert into campaign_log (campaign_id, workspace_id, level, source, contact_key, message, details)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])`,
    [
      entries.map((e) => e.campaignId),
      entries.map((e) => e.workspaceId),
      entries.map((e) => e.level),
      entries.map((e) => e.source),
      entries.map((e) => e.contactKey ?? null),
      entries.map((e) => e.message.slice(0, 10_000)),
      entries.map((e) => (e.details ? JSON.stringify(e.details) : null)),
    ],
  );
}

export async function readCampaignLog(
  pool: Pool,
  campaignId: string,
  query: { level?: string; contactKey?: string; after?: number; limit?: number; /** Read in this workspace's scope (row-level security). */ workspaceId?: string },
): Promise<{ id: number; level: string; source: string; contactKey: string | null; message: string; details: unknown; createdAt: string }[]> {
  const params: unknown[] = [campaignId, query.after ?? 0, Math.min(query.limit ?? 100, 1000)];
  let where = 'campaign_id = $1 and id > $2';
  if (query.level) { params.push(query.level.toUpperCase()); where += ` and level = $${params.length}`; }
  if (query.contactKey) { params.push(query.contactKey); where += ` and contact_key = $${params.length}`; }
  const sql = `select id, level, source, contact_key, message, details, created_at from campaign_log where ${where} order by id limit $3`;
  const { rows } = query.workspaceId ? await tenantQuery(pool, query.workspaceId, sql, params) : await pool.query(sql, params);
  return rows.map((r) => ({ id: Number(r.id), level: r.level, source: r.source, contactKey: r.contact_key, message: r.message, details: r.details, createdAt: new Date(r.created_at).toISOString() }));
}
