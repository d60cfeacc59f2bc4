import type { Pool } from 'pg';
import type { AnalysedSessionView, AnalysisResultsView, AnalysisSessionsPage, Json, MetricAggregateView } from '@herald/contracts';
import { invalid } from '@herald/contracts';
import type { MetricDefinition } from '@herald/campaign-model';
import { tenantQuery } from '@herald/service-defaults';
import type { CampaignAnalyticsReader } from './campaign-analytics';

/** Text answers shown per text metric on the Deep Analysis page. */
const TEXT_SAMPLES = 5;

/**
 * Deep Analysis' numbers: per metric of the current YAML, over the results
 * of its current definition (a changed question counts only once
 * recalculated): counts per enum value and per scale step, the share of
 * true answers, mean, min and max of numbers, the latest text answers; and
 * the results session by session.
 */
export class AnalysisResults {
  constructor(private readonly pool: Pool, private readonly campaigns: CampaignAnalyticsReader) {}

  async aggregates(workspaceId: string, campaignId: string): Promise<AnalysisResultsView> {
    const campaign = await this.campaigns.forWorkspace(workspaceId, campaignId);
    const spec = campaign.spec;
    const base = { campaignId, yamlVersion: campaign.yamlVersion, title: spec?.title ?? null, depthDays: spec?.depthDays ?? null };
    if (!spec) return { ...base, sessions: 0, metrics: [], sessionColumns: [] };
    const current = [workspaceId, campaignId, spec.metrics.map((m) => m.code), spec.metrics.map((m) => m.fingerprint)];
    const from = `FROM dispatch_analysis_results r JOIN unnest($3::text[], $4::text[]) AS m(code, fp) ON r.metric = m.code AND r.fingerprint = m.fp
                  WHERE r.workspace_id = $1 AND r.campaign_id = $2`;
    const num = `(r.value #>> '{}')::double precision`;
    const [stats, values, samples, sessions] = await Promise.all([
      tenantQuery(this.pool, workspaceId,
        `SELECT r.metric, count(*)::int AS analysed, count(r.value)::int AS answered,
                count(*) FILTER (WHERE r.value = 'true'::jsonb)::int AS true_count, count(*) FILTER (WHERE r.value = 'false'::jsonb)::int AS false_count,
                avg(${num}) FILTER (WHERE jsonb_typeof(r.value) = 'number') AS mean,
                min(${num}) FILTER (WHERE jsonb_typeof(r.value) = 'number') AS min_value,
                max(${num}) FILTER (WHERE jsonb_typeof(r.value) = 'number') AS max_value
           ${from} GROUP BY r.metric`, current),
      tenantQuery(this.pool, workspaceId,
        `SELECT r.metric, r.value #>> '{}' AS value, count(*)::int AS n ${from} AND jsonb_typeof(r.value) IN ('string', 'number') GROUP BY r.metric, r.value #>> '{}'`, current),
      tenantQuery(this.pool, workspaceId,
        `SELECT metric, session_id, value FROM (
           SELECT r.metric, r.session_id, r.value #>> '{}' AS value, row_number() OVER (PARTITION BY r.metric ORDER BY r.analysed_at DESC, r.session_id) AS n
             ${from} AND jsonb_typeof(r.value) = 'string' AND r.metric = ANY($5::text[])) x
          WHERE n <= ${TEXT_SAMPLES} ORDER BY n`, [...current, spec.metrics.filter((m) => m.type === 'text').map((m) => m.code)]),
      tenantQuery(this.pool, workspaceId, `SELECT count(DISTINCT r.session_id)::int AS n ${from}`, current),
    ]);
    const byCode = new Map(spec.metrics.map((m) => [m.code, m]));
    const metrics = spec.display.order.map((code) => byCode.get(code)!).map((m) => aggregate(m,
      stats.rows.find((r) => r.metric === m.code),
      values.rows.filter((r) => r.metric === m.code),
      samples.rows.filter((r) => r.metric === m.code)));
    return { ...base, sessions: sessions.rows[0]?.n ?? 0, metrics, sessionColumns: [...spec.display.sessionColumns] };
  }

  /** The analysed sessions, latest analysis first, with the values of the current definitions; `after` is the cursor of the previous page. */
  async sessions(workspaceId: string, campaignId: string, page: { after?: string; limit?: number }): Promise<AnalysisSessionsPage> {
    const campaign = await this.campaigns.forWorkspace(workspaceId, campaignId);
    const spec = campaign.spec;
    if (!spec) return { items: [], next: null };
    const offset = page.after === undefined || page.after === '' ? 0 : Number(page.after);
    if (!Number.isInteger(offset) || offset < 0) throw invalid('after', 'must be the `next` of an earlier page');
    const limit = Math.min(Math.max(Number(page.limit) || 50, 1), 500);
    const { rows } = await tenantQuery(this.pool, workspaceId,
      `SELECT r.session_id, max(r.analysed_at) AS analysed_at, jsonb_object_agg(r.metric, r.value) AS "values",
              jsonb_object_agg(r.metric, r.error) FILTER (WHERE r.error IS NOT NULL) AS errors,
              min(s.contact_key) AS contact_key, min(s.channel) AS channel, min(s.ended_at) AS ended_at
         FROM dispatch_analysis_results r JOIN unnest($3::text[], $4::text[]) AS m(code, fp) ON r.metric = m.code AND r.fingerprint = m.fp
         LEFT JOIN dispatch_sessions s ON s.session_id = r.session_id
        WHERE r.workspace_id = $1 AND r.campaign_id = $2
        GROUP BY r.session_id ORDER BY max(r.analysed_at) DESC, r.session_id LIMIT $5 OFFSET $6`,
      [workspaceId, campaignId, spec.metrics.map((m) => m.code), spec.metrics.map((m) => m.fingerprint), limit + 1, offset]);
    const items: AnalysedSessionView[] = rows.slice(0, limit).map((r) => ({
      sessionId: r.session_id, contactKey: r.contact_key ?? '', channel: r.channel ?? '', endedAt: r.ended_at ? (r.ended_at as Date).toISOString() : null,
      analysedAt: (r.analysed_at as Date).toISOString(), values: r.values as Record<string, Json>, errors: (r.errors ?? {}) as Record<string, string>,
    }));
    return { items, next: rows.length > limit ? String(offset + limit) : null };
  }
}

function aggregate(m: MetricDefinition, stats: Record<string, any> | undefined, values: Record<string, any>[], samples: Record<string, any>[]): MetricAggregateView {
  const v: MetricAggregateView = {
    code: m.code, name: m.name, description: m.description, type: m.type, chart: m.display.chart, unit: m.display.unit, min: m.min, max: m.max,
    analysed: stats?.analysed ?? 0, answered: stats?.answered ?? 0,
  };
  const round = (x: unknown) => (x === null || x === undefined ? null : Math.round(Number(x) * 1000) / 1000);
  const count = (value: string) => values.find((r) => r.value === value)?.n ?? 0;
  switch (m.type) {
    case 'boolean': {
      const t = stats?.true_count ?? 0;
      const f = stats?.false_count ?? 0;
      return { ...v, trueCount: t, falseCount: f, trueRate: t + f ? round(t / (t + f)) : null };
    }
    case 'number':
      return { ...v, mean: round(stats?.mean), minValue: round(stats?.min_value), maxValue: round(stats?.max_value) };
    case 'scale': {
      const steps = m.max! - m.min! <= 20 ? Array.from({ length: m.max! - m.min! + 1 }, (_, i) => String(m.min! + i)) : [...new Set(values.map((r) => String(r.value)))];
      return { ...v, mean: round(stats?.mean), minValue: round(stats?.min_value), maxValue: round(stats?.max_value), counts: steps.map((value) => ({ value, count: count(value) })) };
    }
    case 'enum':
      return { ...v, counts: m.values.map(({ value }) => ({ value, count: count(value) })) };
    case 'text':
      return { ...v, samples: samples.map((r) => ({ sessionId: r.session_id, value: r.value })) };
    default:
      return v;
  }
}
