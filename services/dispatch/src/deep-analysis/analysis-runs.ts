import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { conflict, precondition, type AnalysisRunKind, type AnalysisStatusView } from '@herald/contracts';
import { tenantQuery, withTenant } from '@herald/service-defaults';
import type { Integrations } from '../integrations/integrations';
import type { CampaignAnalytics, CampaignAnalyticsReader } from './campaign-analytics';

/** A session that ended, to be analysed as it ends (live). */
export interface EndedSession { readonly workspaceId: string; readonly campaignId: string; readonly sessionId: string; readonly streamId: string }

/**
 * The campaign's calculations: Recalculate and Continue calculation put the
 * sessions within the YAML's depth in the queue (all metrics, or only those
 * without a result of the current definition), Stop cancels what is left,
 * and sessions that end while a YAML is active join the current calculation
 * (or a live one). Each command is one short transaction in the workspace's
 * scope; workers only ever see a whole calculation.
 */
export class AnalysisRuns {
  constructor(
    private readonly pool: Pool,
    private readonly campaigns: CampaignAnalyticsReader,
    private readonly integrations: Integrations,
    private readonly wake: () => void,
  ) {}

  async status(workspaceId: string, campaignId: string): Promise<AnalysisStatusView> {
    return this.view(await this.campaigns.forWorkspace(workspaceId, campaignId));
  }

  async start(workspaceId: string, campaignId: string, kind: 'recalculate' | 'continue'): Promise<AnalysisStatusView> {
    const campaign = await this.campaigns.forWorkspace(workspaceId, campaignId);
    const spec = campaign.spec;
    if (!spec) throw precondition(campaign.specError ? `the YAML analytics file does not parse: ${campaign.specError}` : 'upload a YAML analytics file first (Upload YAML)');
    const llm = campaign.llmIntegration ? await this.integrations.ofType(workspaceId, campaign.llmIntegration, ['llm']) : null;
    if (!llm) throw precondition("the campaign's LLM Settings name no LLM integration: select one on the Settings tab first");
    const runId = randomUUID();
    const since = new Date(Date.now() - spec.depthDays * 86_400_000);
    await withTenant(this.pool, workspaceId, async (client) => {
      const { rows } = await client.query<{ status: string; kind: AnalysisRunKind }>(
        `SELECT status, kind FROM dispatch_analysis_runs WHERE workspace_id = $1 AND campaign_id = $2 FOR UPDATE`, [workspaceId, campaignId]);
      if (rows[0]?.status === 'running' && rows[0].kind !== 'live') throw conflict('a calculation is running: Stop it first, or wait until it is done');
      await client.query(
        `INSERT INTO dispatch_analysis_runs (workspace_id, campaign_id, run_id, kind, yaml_version, status, since) VALUES ($1, $2, $3, $4, $5, 'running', $6)
         ON CONFLICT (workspace_id, campaign_id) DO UPDATE SET run_id = EXCLUDED.run_id, kind = EXCLUDED.kind, yaml_version = EXCLUDED.yaml_version,
           status = 'running', since = EXCLUDED.since, started_at = now(), finished_at = NULL, stopped_at = NULL`,
        [workspaceId, campaignId, runId, kind, campaign.yamlVersion, since],
      );
      // Continue: only sessions that lack a result of some metric's current definition.
      const missing = kind === 'continue'
        ? `AND (SELECT count(*) FROM dispatch_analysis_results r JOIN unnest($5::text[], $6::text[]) AS m(code, fp) ON r.metric = m.code AND r.fingerprint = m.fp
                WHERE r.campaign_id = s.campaign_id AND r.session_id = s.session_id) < $7`
        : '';
      const params: unknown[] = [workspaceId, campaignId, since, runId];
      if (kind === 'continue') params.push(spec.metrics.map((m) => m.code), spec.metrics.map((m) => m.fingerprint), spec.metrics.length);
      await client.query(
        `INSERT INTO dispatch_analysis_queue (workspace_id, campaign_id, session_id, stream_id, run_id, mode, status)
         SELECT s.workspace_id, s.campaign_id, s.session_id, s.stream_id, $4, '${kind === 'continue' ? 'missing' : 'all'}', 'pending'
           FROM dispatch_sessions s
          WHERE s.workspace_id = $1 AND s.campaign_id = $2 AND s.status = 'closed' AND s.ended_at >= $3 ${missing}
         ON CONFLICT (campaign_id, session_id) DO UPDATE SET run_id = EXCLUDED.run_id, mode = EXCLUDED.mode, status = 'pending', attempts = 0,
           not_before = now(), claimed_by = NULL, claimed_at = NULL, error = NULL, updated_at = now()`,
        params,
      );
      // What an earlier calculation left is replaced by this one.
      await client.query(
        `UPDATE dispatch_analysis_queue SET status = 'cancelled', claimed_by = NULL, updated_at = now()
          WHERE workspace_id = $1 AND campaign_id = $2 AND run_id <> $3 AND status IN ('pending', 'claimed')`,
        [workspaceId, campaignId, runId],
      );
    });
    this.wake();
    return this.view(campaign);
  }

  /** Stop: nothing more of the calculation is analysed (an answer still on its way is dropped), and new sessions wait for Continue calculation. */
  async stop(workspaceId: string, campaignId: string): Promise<AnalysisStatusView> {
    const campaign = await this.campaigns.forWorkspace(workspaceId, campaignId);
    await withTenant(this.pool, workspaceId, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE dispatch_analysis_runs SET status = 'stopped', stopped_at = now() WHERE workspace_id = $1 AND campaign_id = $2 AND status = 'running'`,
        [workspaceId, campaignId]);
      if (!rowCount) return;
      await client.query(
        `UPDATE dispatch_analysis_queue SET status = 'cancelled', claimed_by = NULL, updated_at = now()
          WHERE workspace_id = $1 AND campaign_id = $2 AND status IN ('pending', 'claimed')`, [workspaceId, campaignId]);
    });
    return this.view(campaign);
  }

  /**
   * Sessions that just ended join the campaign's running calculation; a
   * finished one runs again for them, and without one a live calculation
   * starts. A stopped campaign takes none (Continue calculation catches up).
   */
  async enqueueEnded(campaign: CampaignAnalytics, sessions: readonly EndedSession[]): Promise<void> {
    if (!sessions.length || !campaign.spec) return;
    const { workspaceId, campaignId } = campaign;
    // One statement: the run row's lock orders it with the worker's settling (a run is never marked Done under new sessions).
    const { rowCount } = await this.pool.query(
      `WITH run AS (
         INSERT INTO dispatch_analysis_runs (workspace_id, campaign_id, run_id, kind, yaml_version, status) VALUES ($1, $2, $3, 'live', $4, 'running')
         ON CONFLICT (workspace_id, campaign_id) DO UPDATE SET status = 'running', finished_at = NULL WHERE dispatch_analysis_runs.status IN ('running', 'done')
         RETURNING workspace_id, campaign_id, run_id)
       INSERT INTO dispatch_analysis_queue (workspace_id, campaign_id, session_id, stream_id, run_id, mode, status)
       SELECT run.workspace_id, run.campaign_id, u.session_id, u.stream_id, run.run_id, 'missing', 'pending'
         FROM run, unnest($5::text[], $6::text[]) AS u(session_id, stream_id)
       ON CONFLICT (campaign_id, session_id) DO NOTHING`,
      [workspaceId, campaignId, randomUUID(), campaign.yamlVersion, sessions.map((s) => s.sessionId), sessions.map((s) => s.streamId)],
    );
    if (rowCount) this.wake();
  }

  private async view(campaign: CampaignAnalytics): Promise<AnalysisStatusView> {
    const { rows } = await tenantQuery(this.pool, campaign.workspaceId,
      `SELECT r.run_id, r.kind, r.yaml_version, r.status, r.since, r.started_at, r.finished_at, r.stopped_at,
              (SELECT coalesce(jsonb_object_agg(x.status, x.n), '{}') FROM (SELECT q.status, count(*) AS n FROM dispatch_analysis_queue q WHERE q.run_id = r.run_id GROUP BY q.status) x) AS counts,
              (SELECT q.error FROM dispatch_analysis_queue q WHERE q.run_id = r.run_id AND q.error IS NOT NULL ORDER BY q.updated_at DESC LIMIT 1) AS last_error
         FROM dispatch_analysis_runs r WHERE r.workspace_id = $1 AND r.campaign_id = $2`,
      [campaign.workspaceId, campaign.campaignId]);
    const r = rows[0];
    const n = (r?.counts ?? {}) as Record<string, number>;
    const counts = { pending: Number(n.pending ?? 0), running: Number(n.claimed ?? 0), done: Number(n.done ?? 0), failed: Number(n.failed ?? 0), cancelled: Number(n.cancelled ?? 0) };
    const iso = (d: Date | null) => (d ? d.toISOString() : null);
    return {
      campaignId: campaign.campaignId,
      yamlVersion: campaign.yamlVersion,
      state: campaign.yamlVersion === null ? 'none' : !r ? 'idle' : (r.status as 'running' | 'stopped' | 'done'),
      run: r ? { id: r.run_id, kind: r.kind, yamlVersion: r.yaml_version, since: iso(r.since), startedAt: iso(r.started_at)!, finishedAt: iso(r.finished_at), stoppedAt: iso(r.stopped_at) } : null,
      counts: { total: Object.values(counts).reduce((a, b) => a + b, 0), ...counts },
      lastError: r?.last_error ?? null,
    };
  }
}
