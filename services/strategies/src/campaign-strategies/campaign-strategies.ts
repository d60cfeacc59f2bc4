import { campaignStreamId, notFound } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { evolve, type CampaignState, type StrategyType } from '@herald/campaign-model';
import type { CampaignInfo, RunOptions, StrategyCode } from '../runtime/strategy-runner';

export type CampaignStrategy = StrategyCode & { readonly id: string; readonly version: number; readonly name: string; readonly type: StrategyType };

const DEFAULT_TIMEOUT_SECONDS = 5;

/**
 * The campaign's strategies, read from its stream (read-your-writes: a
 * strategy uploaded a moment ago is used by the next row). Cached per
 * campaign; each call reads only the events appended since.
 */
export class CampaignStrategies {
  private readonly cache = new Map<string, CampaignState>();

  constructor(private readonly store: EventStore) {}

  async load(workspaceId: string, campaignId: string): Promise<CampaignState> {
    const cached = this.cache.get(campaignId);
    const events = await this.store.readStream(campaignStreamId(campaignId), { fromRevision: cached ? cached.revision + 1 : 0 });
    const state = events.reduce<CampaignState | null>((s, e) => evolve(s, e), cached ?? null);
    if (!state || state.workspaceId !== workspaceId) throw notFound(`campaign ${campaignId}`);
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(campaignId, state);
    return state;
  }

  /** The strategy of a type; its cache key changes with every upload (a new version). */
  static code(state: CampaignState, type: StrategyType): CampaignStrategy | null {
    const s = state.strategies.find((x) => x.type === type);
    return s ? { key: `${s.id}:${s.version}`, code: s.code, functionName: s.functionName, version: s.version, name: s.name, id: s.id, type: s.type } : null;
  }

  /** The `campaign` keyword argument: id, name, stage names, result codes, settings. */
  static info(state: CampaignState): CampaignInfo {
    return {
      id: state.id,
      name: state.name,
      stages: state.stages.map((s) => s.name),
      resultCodes: ['ResultFlag', 'ResultDatetime', ...(state.resultDefinitions ?? []).map((r) => r.code).filter((c) => c !== 'ResultFlag' && c !== 'ResultDatetime')],
      settings: { ...(state.settings ?? {}) },
    };
  }

  /** Per-campaign limits: the wall time of one call and the hosts strategies may reach. */
  static runOptions(state: CampaignState): RunOptions {
    const seconds = Number(state.settings?.strategyTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
    return {
      timeoutMs: Math.round(1000 * (Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 300) : DEFAULT_TIMEOUT_SECONDS)),
      egressAllowlist: state.settings?.egressAllowlist ?? [],
    };
  }
}
