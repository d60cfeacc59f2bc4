import type { Pool, PoolClient } from 'pg';
import type { CampaignView, RecordedEvent } from '@herald/contracts';
import { evolve, type CampaignState } from '@herald/campaign-model';
import { tenantQuery } from '@herald/service-defaults';
import { toView } from '../campaign-view';

/** Read model answering "which campaigns does this workspace have?" (the list screen). */
export const CAMPAIGN_LIST_SCHEMA = `
create table if not exists campaign_list (
  campaign_id  text primary key,
  workspace_id text not null,
  running      boolean not null,
  search_text  text not null,
  state        jsonb not null,
  created_at   timestamptz not null
);
create index if not exists campaign_list_ws on campaign_list (workspace_id, created_at desc);
`;

export async function projectCampaignList(event: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
  if (!event.streamId.startsWith('campaign-')) return;
  const id = event.streamId.slice('campaign-'.length);
  const { rows } = await client.query<{ state: CampaignState }>('select state from campaign_list where campaign_id = $1', [id]);
  const state = evolve(rows[0]?.state ?? null, event);
  if (state.deleted) {
    await client.query('delete from campaign_list where campaign_id = $1', [id]);
    return;
  }
  await client.query(
    `insert into campaign_list (campaign_id, workspace_id, running, search_text, state, created_at) values ($1, $2, $3, $4, $5, $6)
     on conflict (campaign_id) do update set running = excluded.running, search_text = excluded.search_text, state = excluded.state`,
    [id, state.workspaceId, state.running, [state.name, state.description, ...state.labels].join('\n').toLowerCase(), JSON.stringify(state), state.createdAt],
  );
}

export async function listCampaigns(
  pool: Pool,
  workspaceId: string,
  query: { filter?: 'all' | 'running'; search?: string },
): Promise<CampaignView[]> {
  const params: unknown[] = [workspaceId];
  let where = 'workspace_id = $1';
  if (query.filter === 'running') where += ' and running';
  if (query.search) {
    params.push(`%${query.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    where += ` and search_text like $${params.length}`;
  }
  const { rows } = await tenantQuery<{ state: CampaignState }>(pool, workspaceId, `select state from campaign_list where ${where} order by created_at desc limit 500`, params);
  return rows.map((r) => toView(r.state));
}
