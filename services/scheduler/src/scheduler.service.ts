import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  campaignStreamId, invalid, notFound, STRATEGIES_API, type ContactState, type DataLoadResult, type SchedulerApi,
  type SchedulingPolicy, type StrategiesApi, type DryRunOptions } from '@herald/contracts';
import { readStreams, type EventStore } from '@herald/event-store';
import { rebuild as rebuildCampaign } from '@herald/campaign-model';
import { rebuild as rebuildContact } from '@herald/contact-model';
import { EVENT_STORE, PG_POOL } from '@herald/service-defaults';
import { ensureSchedulerSchema } from './schema';
import { campaignRules } from './rules/decide-firing';
import { parsePolicy } from './rules/policy';
import { loadPolicies } from './limits-store';
import { simulate, type AggregationInput, type AggregationSimulation, type DryRunResult, type SimulatedCommunication } from './dry-run';

/**
 * The strategies service's simulation call (services/strategies: StrategiesService.simulateAggregation),
 * in process (embedded) or over gRPC (distributed). Without a strategies API (a scheduler started alone,
 * in a test) the dry run leaves Aggregation out and says so.
 */
export interface AggregationRuntime {
  simulateAggregation(workspaceId: string, campaignId: string, items: AggregationInput[], now: string): Promise<{ strategyVersion: number | null; results: DataLoadResult[] }>;
}


export const DRY_RUN_HORIZON_DAYS = 31;
export const DRY_RUN_MAX_AGGREGATION_RUNS = 20_000;

function aggregationRuntime(api: StrategiesApi | undefined): AggregationRuntime | null {
  const candidate = api as (StrategiesApi & Partial<AggregationRuntime>) | undefined;
  return typeof candidate?.simulateAggregation === 'function' ? (candidate as unknown as AggregationRuntime) : null;
}

/** The scheduler's API: a workspace's policy (frequency cap, rate limits) and the dry run. */
@Injectable()
export class SchedulerService implements SchedulerApi, OnModuleInit {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Optional() @Inject(STRATEGIES_API) private readonly strategies?: StrategiesApi,
  ) {}

  async onModuleInit(): Promise<void> {
    await ensureSchedulerSchema(this.pool);
  }

  async getPolicy(workspaceId: string): Promise<SchedulingPolicy> {
    return (await loadPolicies(this.pool, [workspaceId])).get(workspaceId)!;
  }

  async setPolicy(workspaceId: string, input: SchedulingPolicy): Promise<SchedulingPolicy> {
    const policy = parsePolicy(input);
    await this.pool.query(
      `INSERT INTO scheduler_policies (workspace_id, policy) VALUES ($1, $2)
       ON CONFLICT (workspace_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()`,
      [workspaceId, JSON.stringify(policy)],
    );
    return policy;
  }

  async dryRun(workspaceId: string, campaignId: string, options: DryRunOptions): Promise<DryRunResult> {
    let from = new Date();
    if (options.from !== undefined && options.from !== '') {
      from = new Date(options.from);
      if (Number.isNaN(from.getTime())) throw invalid('from', `"${options.from}" is not an ISO-8601 date`);
    }
    const contactLimit = options.contactLimit ?? 100;
    if (!Number.isInteger(contactLimit) || contactLimit < 0 || contactLimit > 1000) throw invalid('contactLimit', 'must be a whole number from 0 to 1000');
    const horizonDays = options.horizonDays ?? DRY_RUN_HORIZON_DAYS;
    if (typeof horizonDays !== 'number' || !(horizonDays > 0 && horizonDays <= 366)) throw invalid('horizonDays', 'must be a number of days above 0, at most 366');
    const maxRuns = options.maxAggregationRuns ?? DRY_RUN_MAX_AGGREGATION_RUNS;
    if (!Number.isInteger(maxRuns) || maxRuns < 0 || maxRuns > 100_000) throw invalid('maxAggregationRuns', 'must be a whole number from 0 to 100000');
    const state = rebuildCampaign(await this.store.readStream(campaignStreamId(campaignId)));
    if (!state || state.workspaceId !== workspaceId) throw notFound(`campaign ${campaignId}`);
    const policy = await this.getPolicy(workspaceId);
    const { rows } = await this.pool.query<{
      communication_id: string; name: string; stage_name: string; start_date: Date; end_date: Date | null; stream_id: string;
      contact_key: string; contact_name: string | null; phone: string | null; timezone: string | null; identities: string[];
    }>(
      `SELECT m.communication_id, m.name, m.stage_name, m.start_date, m.end_date, m.stream_id,
              k.contact_key, k.name AS contact_name, k.phone, k.timezone, k.identities
         FROM scheduler_communications m JOIN scheduler_contacts k ON k.stream_id = m.stream_id
        WHERE m.campaign_id = $1 AND m.status = 'PLANNED' AND NOT m.fired`,
      [campaignId],
    );
    const communications: SimulatedCommunication[] = rows.map((r) => ({
      communicationId: r.communication_id, name: r.name, stageName: r.stage_name, startDate: r.start_date, endDate: r.end_date, streamId: r.stream_id,
      contactKey: r.contact_key, contactName: r.contact_name, phone: r.phone, timezone: r.timezone, identities: r.identities,
    }));
    const pastStarts = new Map<string, number[]>();
    if (policy.frequencyCap) {
      const identities = [...new Set(communications.flatMap((c) => c.identities))];
      const { rows: starts } = await this.pool.query<{ identity: string; at: Date }>(
        `SELECT identity, at FROM scheduler_starts WHERE workspace_id = $1 AND identity = ANY($2) AND confirmed AND at > $3 AND at <= $4`,
        [workspaceId, identities, new Date(from.getTime() - policy.frequencyCap.perHours * 3_600_000), from],
      );
      for (const s of starts) pastStarts.set(s.identity, [...(pastStarts.get(s.identity) ?? []), s.at.getTime()]);
    }
    const runtime = aggregationRuntime(this.strategies);
    const hasAggregation = state.strategies.some((x) => x.type === 'AGGREGATION');
    const aggregation: AggregationSimulation | null = runtime && hasAggregation ? {
      run: async (items, now) => (await runtime.simulateAggregation(workspaceId, campaignId, [...items], now.toISOString())).results,
      contacts: async (streamIds) => {
        const streams = await readStreams(this.store, streamIds);
        return new Map<string, ContactState | null>([...streams].map(([id, events]) => [id, rebuildContact(events)]));
      },
      stages: state.stages.map((s) => s.name),
      horizon: new Date(from.getTime() + horizonDays * 86_400_000),
      maxRuns,
    } : null;
    return simulate({
      campaignId, from, rules: campaignRules(state, campaignId), policy, communications, pastStarts, contactLimit, aggregation,
      aggregationUnavailable: !hasAggregation
        ? 'the campaign has no Aggregation strategy'
        : 'this scheduler process cannot reach the strategies runtime (the distributed mode has no simulation call over gRPC yet)',
    });
  }
}
