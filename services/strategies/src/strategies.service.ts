import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { type ContactSnapshot, type DataLoadResult, type JsonObject, type StrategiesApi } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { EVENT_STORE, HERALD_CONFIG, type HeraldConfig } from '@herald/service-defaults';
import { StrategyRunner, type StrategyRunnerOptions } from './runtime/strategy-runner';
import { CampaignStrategies } from './campaign-strategies/campaign-strategies';

/** Runtime knobs from the environment (see docs/strategies.md). */
export function runnerOptionsFrom(env: NodeJS.ProcessEnv, workers: number): StrategyRunnerOptions {
  const sandbox = env.HERALD_STRATEGY_SANDBOX;
  const memoryMb = Number(env.HERALD_STRATEGY_MEMORY_MB);
  return {
    workers,
    ...(sandbox === 'bwrap' || sandbox === 'rlimits' || sandbox === 'auto' ? { sandbox } : {}),
    ...(Number.isFinite(memoryMb) && memoryMb > 0 ? { memoryMb } : {}),
    ...(env.HERALD_PYTHON ? { pythonPath: env.HERALD_PYTHON } : {}),
  };
}

@Injectable()
export class StrategiesService implements StrategiesApi, OnApplicationShutdown {
  readonly runner: StrategyRunner;
  readonly campaigns: CampaignStrategies;

  constructor(@Inject(EVENT_STORE) store: EventStore, @Inject(HERALD_CONFIG) config: HeraldConfig) {
    this.runner = new StrategyRunner(runnerOptionsFrom(process.env, config.strategyWorkers));
    this.campaigns = new CampaignStrategies(store);
  }

  validate(code: string, functionName: string) {
    return this.runner.validate(code, functionName);
  }

  async runDataLoad(
    workspaceId: string,
    campaignId: string,
    items: { contact: ContactSnapshot; existing: ContactSnapshot | null }[],
  ): Promise<{ strategyVersion: number | null; results: DataLoadResult[] }> {
    const campaign = await this.campaigns.load(workspaceId, campaignId);
    const code = CampaignStrategies.code(campaign, 'DATA_LOAD');
    // Without a Data Load strategy rows are imported as they are.
    if (!code) return { strategyVersion: null, results: items.map((i) => ({ ok: true, contact: i.contact as unknown as JsonObject, logs: [] })) };
    const outcomes = await this.runner.run(code, 'data-load', items, { campaign: CampaignStrategies.info(campaign), now: new Date() }, CampaignStrategies.runOptions(campaign));
    return {
      strategyVersion: code.version,
      results: outcomes.map((o) => (o.ok
        ? { ok: true as const, contact: (o.contact ?? null) as unknown as JsonObject, logs: o.logs }
        : { ok: false as const, error: o.error, traceback: o.traceback, logs: o.logs })),
    };
  }

  /**
   * Runs the campaign's Aggregation strategy on contacts given in full, for a
   * simulation (the scheduler's dry run): nothing is read from or written to
   * the contacts' streams and nothing goes to the campaign log. `now` is the
   * simulation's virtual time (the strategy's `now` argument). One result per
   * item, in order; without an Aggregation strategy every result is "no
   * change" and strategyVersion is null.
   */
  async simulateAggregation(
    workspaceId: string,
    campaignId: string,
    items: { contact: ContactSnapshot; sessionResults: JsonObject | null; flaggedCommunicationId: string }[],
    now: string,
  ): Promise<{ strategyVersion: number | null; results: DataLoadResult[] }> {
    const campaign = await this.campaigns.load(workspaceId, campaignId);
    const code = CampaignStrategies.code(campaign, 'AGGREGATION');
    if (!code) return { strategyVersion: null, results: items.map(() => ({ ok: true, contact: null as unknown as JsonObject, logs: [] })) };
    const at = new Date(now);
    if (Number.isNaN(at.getTime())) throw new Error(`simulateAggregation: now "${now}" is not a date`);
    const outcomes = await this.runner.run(code, 'aggregation', items, { campaign: CampaignStrategies.info(campaign), now: at }, CampaignStrategies.runOptions(campaign));
    return {
      strategyVersion: code.version,
      results: outcomes.map((o) => (o.ok
        ? { ok: true as const, contact: (o.contact ?? null) as unknown as JsonObject, logs: o.logs }
        : { ok: false as const, error: o.error, traceback: o.traceback, logs: o.logs })),
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.close();
  }
}
