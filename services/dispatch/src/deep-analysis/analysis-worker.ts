import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import type { EventStore } from '@herald/event-store';
import type { MetricDefinition } from '@herald/campaign-model';
import { chatCompletion } from '../agents/llm-agent';
import type { Integrations } from '../integrations/integrations';
import { transcriptOf } from '../sessions/contact-stream';
import type { CampaignAnalyticsReader } from './campaign-analytics';
import { emptyConversation, evaluationRequest, readEvaluation, type MetricResult } from './session-evaluation';

export interface AnalysisWorkerOptions {
  /** Sessions analysed at once by this worker (HERALD_ANALYSIS_CONCURRENCY; default 4). */
  readonly concurrency?: number;
  /** How often an idle worker looks for work (default 1 s; new work in this process wakes it at once). */
  readonly pollMs?: number;
  /** A claim older than this is taken to be a dead worker's and taken over (default 10 min: longer than any one completion, 429 waits included). */
  readonly leaseMs?: number;
  /** Attempts per session before it counts as failed (default 3), and the pause before the next one, times the attempt (default 5 s). */
  readonly maxAttempts?: number;
  readonly retryDelayMs?: number;
  /** Longest wait on an endpoint's 429 answers for one completion (default 2 min); then the attempt fails and is retried later. */
  readonly maxRateWaitMs?: number;
}

interface Claim { workspace_id: string; campaign_id: string; session_id: string; stream_id: string; run_id: string; mode: 'all' | 'missing'; attempts: number }

/**
 * The queue's consumer: claims sessions of running calculations (one
 * statement, FOR UPDATE SKIP LOCKED: two replicas never claim the same
 * session), asks the campaign's LLM integration, and stores the results in
 * one transaction that first checks the claim is still its own: a stopped
 * or replaced calculation, or a claim taken over after the lease, drops the
 * answer. A restarted service finds its running calculations in the queue;
 * a dead worker's claims are taken over once the lease runs out.
 */
export class AnalysisWorker {
  readonly id = `analysis-${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('DeepAnalysis');
  private readonly o: Required<AnalysisWorkerOptions>;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly campaigns: CampaignAnalyticsReader,
    private readonly integrations: Integrations,
    options: AnalysisWorkerOptions = {},
  ) {
    this.o = {
      concurrency: 4, pollMs: 1000, leaseMs: 600_000, maxAttempts: 3, retryDelayMs: 5000, maxRateWaitMs: 120_000,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as Required<AnalysisWorkerOptions>;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Claims no more, and waits (at most `graceMs`) for the sessions being
   * analysed; a claim still open then is taken over after the lease.
   */
  async stop(graceMs = 15_000): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => { timer = setTimeout(r, graceMs); })]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let claimed: Claim[] = [];
      const free = this.o.concurrency - this.inFlight.size;
      try {
        if (free > 0) claimed = await this.claim(free);
        if (!claimed.length && !this.inFlight.size) await this.settle();
      } catch (error) {
        this.logger.warn(`claiming sessions to analyse: ${(error as Error).message}`);
      }
      for (const c of claimed) {
        const work: Promise<void> = this.analyse(c)
          .catch((error) => this.logger.error(`session ${c.session_id}: ${(error as Error).stack ?? error}`))
          .finally(() => {
            this.inFlight.delete(work);
            this.wake();
          });
        this.inFlight.add(work);
      }
      if ((claimed.length && this.inFlight.size < this.o.concurrency) || this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.pollMs);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async claim(limit: number): Promise<Claim[]> {
    const { rows } = await this.pool.query<Claim>(
      `UPDATE dispatch_analysis_queue q SET status = 'claimed', claimed_by = $1, claimed_at = now(), attempts = q.attempts + 1, updated_at = now()
        WHERE (q.campaign_id, q.session_id) IN (
          SELECT o.campaign_id, o.session_id FROM dispatch_analysis_queue o JOIN dispatch_analysis_runs r ON r.run_id = o.run_id AND r.status = 'running'
           WHERE (o.status = 'pending' AND o.not_before <= now()) OR (o.status = 'claimed' AND o.claimed_at < now() - make_interval(secs => $3::double precision))
           ORDER BY o.not_before LIMIT $2 FOR UPDATE OF o SKIP LOCKED)
        RETURNING q.workspace_id, q.campaign_id, q.session_id, q.stream_id, q.run_id, q.mode, q.attempts`,
      [this.id, limit, this.o.leaseMs / 1000],
    );
    return rows;
  }

  /**
   * Calculations with nothing left to analyse are Done. The runs are locked
   * first and their queue read by a later statement, so sessions that joined
   * a run (under the same lock) are always seen.
   */
  private async settle(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ run_id: string }>(`SELECT run_id FROM dispatch_analysis_runs WHERE status = 'running' FOR UPDATE SKIP LOCKED`);
      if (rows.length) {
        await client.query(
          `UPDATE dispatch_analysis_runs r SET status = 'done', finished_at = now() WHERE r.run_id = ANY($1::text[])
             AND NOT EXISTS (SELECT 1 FROM dispatch_analysis_queue q WHERE q.run_id = r.run_id AND q.status IN ('pending', 'claimed'))`,
          [rows.map((r) => r.run_id)]);
      }
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async analyse(c: Claim): Promise<void> {
    const campaign = await this.campaigns.cached(c.campaign_id);
    if (!campaign?.spec) return this.failed(c, campaign?.specError ? `the YAML analytics file does not parse: ${campaign.specError}` : 'the campaign has no YAML analytics', true);
    const llm = campaign.llmIntegration ? await this.integrations.ofType<Record<string, unknown>>(c.workspace_id, campaign.llmIntegration, ['llm']) : null;
    if (!llm) return this.failed(c, "the campaign's LLM Settings name no LLM integration", true);
    const spec = campaign.spec;
    let metrics: readonly MetricDefinition[] = spec.metrics;
    if (c.mode === 'missing') {
      const { rows } = await this.pool.query<{ metric: string; fingerprint: string }>(
        `SELECT metric, fingerprint FROM dispatch_analysis_results WHERE campaign_id = $1 AND session_id = $2`, [c.campaign_id, c.session_id]);
      const have = new Set(rows.map((r) => `${r.metric}\u0000${r.fingerprint}`));
      metrics = spec.metrics.filter((m) => !have.has(`${m.code}\u0000${m.fingerprint}`));
    }
    let results: MetricResult[] = [];
    if (metrics.length) {
      const transcript = transcriptOf(await this.store.readStream(c.stream_id), c.session_id);
      if (!transcript.length) results = emptyConversation(metrics);
      else {
        // Stopped or replaced since the claim: the completion is not worth asking for.
        if (!(await this.stillMine(c))) return;
        try {
          const request = evaluationRequest(spec, metrics, transcript);
          results = readEvaluation(metrics, await chatCompletion(llm, request, { maxWaitMs: this.o.maxRateWaitMs }));
        } catch (error) {
          return this.failed(c, (error as Error).message, false);
        }
      }
    }
    await this.save(c, campaign.yamlVersion ?? 0, results, c.mode === 'all' ? spec.metrics.map((m) => m.code) : null);
  }

  private async stillMine(c: Claim): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM dispatch_analysis_queue WHERE campaign_id = $1 AND session_id = $2 AND run_id = $3 AND claimed_by = $4 AND status = 'claimed'`,
      [c.campaign_id, c.session_id, c.run_id, this.id]);
    return rowCount === 1;
  }

  /** The results, only while the claim is still this worker's (a stop, a new calculation or a takeover drops them). */
  private async save(c: Claim, yamlVersion: number, results: readonly MetricResult[], keepOnly: string[] | null): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const { rowCount } = await client.query(
        `UPDATE dispatch_analysis_queue SET status = 'done', error = NULL, claimed_by = NULL, updated_at = now()
          WHERE campaign_id = $1 AND session_id = $2 AND run_id = $3 AND claimed_by = $4 AND status = 'claimed'`,
        [c.campaign_id, c.session_id, c.run_id, this.id]);
      if (!rowCount) {
        await client.query('rollback');
        return;
      }
      if (results.length) {
        await client.query(
          `INSERT INTO dispatch_analysis_results (workspace_id, campaign_id, session_id, metric, fingerprint, yaml_version, value, error)
           SELECT $1, $2, $3, u.metric, u.fingerprint, $4, u.value::jsonb, u.error FROM unnest($5::text[], $6::text[], $7::text[], $8::text[]) AS u(metric, fingerprint, value, error)
           ON CONFLICT (campaign_id, session_id, metric) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, yaml_version = EXCLUDED.yaml_version,
             value = EXCLUDED.value, error = EXCLUDED.error, analysed_at = now()`,
          [c.workspace_id, c.campaign_id, c.session_id, yamlVersion, results.map((r) => r.code), results.map((r) => r.fingerprint),
            results.map((r) => (r.value === null ? null : JSON.stringify(r.value))), results.map((r) => r.error)]);
      }
      // Recalculate replaces the session's results: metrics the file no longer has go.
      if (keepOnly) await client.query(`DELETE FROM dispatch_analysis_results WHERE campaign_id = $1 AND session_id = $2 AND NOT (metric = ANY($3::text[]))`, [c.campaign_id, c.session_id, keepOnly]);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** An attempt failed: later again, or failed for good (after maxAttempts, or at once when retrying cannot help). */
  private async failed(c: Claim, error: string, permanent: boolean): Promise<void> {
    this.logger.warn(`session ${c.session_id} (campaign ${c.campaign_id}), attempt ${c.attempts}: ${error}`);
    await this.pool.query(
      `UPDATE dispatch_analysis_queue SET status = CASE WHEN $5 OR attempts >= $6 THEN 'failed' ELSE 'pending' END,
         not_before = now() + make_interval(secs => $7::double precision * attempts), error = $8, claimed_by = NULL, claimed_at = NULL, updated_at = now()
        WHERE campaign_id = $1 AND session_id = $2 AND run_id = $3 AND claimed_by = $4 AND status = 'claimed'`,
      [c.campaign_id, c.session_id, c.run_id, this.id, permanent, this.o.maxAttempts, this.o.retryDelayMs / 1000, error.slice(0, 1000)]);
  }
}
