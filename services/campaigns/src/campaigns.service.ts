import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  AddStageInput, AddStrategyInput, AnalyticsFile, CampaignExport, CampaignSettingsInput, CampaignsApi, CampaignView, CreateCampaignInput,
  LogQuery, ResultDefinitionInput, STRATEGIES_API, StrategiesApi, StrategyCode, StrategyFile, UpdateCampaignInput, UpdateStrategyInput,
  buildMetadata, campaignStreamId, invalid, notFound, type RecordedEvent,
} from '@herald/contracts';
import type { CampaignPerformanceView, PerformancePeriod } from '@herald/contracts';
import { EventStore, executeCommand } from '@herald/event-store';
import { decide, evolve, parseAnalytics, rebuild, type CampaignChange, type CampaignState } from '@herald/campaign-model';
import { EVENT_STORE, PG_POOL, readCampaignLog } from '@herald/service-defaults';
import { toView } from './campaign-view';
import { listCampaigns } from './campaign-list/campaign-list';
import { checkPeriod, queryCampaignPerformance } from './campaign-performance/campaign-performance';
import { archiveFiles, readManifest } from './export/campaign-archive';
import { newSecretKey, seal, unseal } from './export/sealed-archive';
import { WorkspaceReferences } from './references/workspace-references';

@Injectable()
export class CampaignsService implements CampaignsApi {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STRATEGIES_API) private readonly strategies: StrategiesApi,
    private readonly references: WorkspaceReferences,
  ) {}

  async createCampaign(workspaceId: string, input: CreateCampaignInput): Promise<CampaignView> {
    const campaignId = randomUUID();
    return this.command(workspaceId, campaignId, () => decide.createCampaign({ campaignId, ...input }), true);
  }

  listCampaigns(workspaceId: string, query: { filter?: 'all' | 'running'; search?: string }): Promise<CampaignView[]> {
    return listCampaigns(this.pool, workspaceId, query);
  }

  async getCampaign(workspaceId: string, campaignId: string): Promise<CampaignView> {
    return toView(await this.load(workspaceId, campaignId));
  }

  updateCampaign(workspaceId: string, campaignId: string, input: UpdateCampaignInput): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.updateDetails(s, input));
  }

  async deleteCampaign(workspaceId: string, campaignId: string): Promise<void> {
    await this.command(workspaceId, campaignId, (s) => decide.deleteCampaign(s), false, true);
  }

  async addStage(workspaceId: string, campaignId: string, input: AddStageInput): Promise<CampaignView> {
    await this.load(workspaceId, campaignId);
    await this.references.checkStage(workspaceId, input);
    return this.command(workspaceId, campaignId, (s) => decide.addStage(s, input));
  }

  async updateStage(workspaceId: string, campaignId: string, stageId: string, input: AddStageInput): Promise<CampaignView> {
    await this.load(workspaceId, campaignId);
    await this.references.checkStage(workspaceId, input);
    return this.command(workspaceId, campaignId, (s) => decide.updateStage(s, stageId, input));
  }

  removeStage(workspaceId: string, campaignId: string, stageId: string): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.removeStage(s, stageId));
  }

  async addStrategy(workspaceId: string, campaignId: string, input: AddStrategyInput): Promise<CampaignView> {
    await this.load(workspaceId, campaignId);
    await this.checkCode(input.code, input.functionName);
    return this.command(workspaceId, campaignId, (s) => decide.addStrategy(s, input));
  }

  async updateStrategy(workspaceId: string, campaignId: string, strategyId: string, input: UpdateStrategyInput): Promise<CampaignView> {
    if (input.functionName !== undefined) {
      const state = await this.load(workspaceId, campaignId);
      const strategy = state.strategies.find((s) => s.id === strategyId);
      if (!strategy) throw notFound(`strategy ${strategyId}`);
      await this.checkCode(strategy.code, input.functionName);
    }
    return this.command(workspaceId, campaignId, (s) => decide.updateStrategy(s, strategyId, input));
  }

  async replaceStrategyFile(workspaceId: string, campaignId: string, strategyId: string, file: StrategyFile): Promise<CampaignView> {
    const state = await this.load(workspaceId, campaignId);
    const strategy = state.strategies.find((s) => s.id === strategyId);
    if (!strategy) throw notFound(`strategy ${strategyId}`);
    await this.checkCode(file.code, strategy.functionName);
    return this.command(workspaceId, campaignId, (s) => decide.replaceStrategyFile(s, strategyId, file));
  }

  removeStrategy(workspaceId: string, campaignId: string, strategyId: string): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.removeStrategy(s, strategyId));
  }

  async getStrategyCode(workspaceId: string, campaignId: string, strategyId: string): Promise<StrategyCode> {
    const strategy = (await this.load(workspaceId, campaignId)).strategies.find((s) => s.id === strategyId);
    if (!strategy) throw notFound(`strategy ${strategyId}`);
    return { fileName: strategy.fileName, code: strategy.code, version: strategy.version, functionName: strategy.functionName, type: strategy.type };
  }

  async updateSettings(workspaceId: string, campaignId: string, settings: CampaignSettingsInput): Promise<CampaignView> {
    await this.load(workspaceId, campaignId);
    await this.references.checkSettings(workspaceId, settings);
    return this.command(workspaceId, campaignId, (s) => decide.changeSettings(s, settings));
  }

  /** Validated against the YAML analytics format (docs/analytics.md): the 400 names the field. */
  async uploadAnalytics(workspaceId: string, campaignId: string, file: { fileName: string; yaml: string }): Promise<CampaignView> {
    await this.load(workspaceId, campaignId);
    parseAnalytics(file.yaml);
    return this.command(workspaceId, campaignId, (s) => decide.uploadAnalytics(s, file));
  }

  async getAnalytics(workspaceId: string, campaignId: string): Promise<AnalyticsFile> {
    const { analytics } = await this.load(workspaceId, campaignId);
    if (!analytics) throw notFound('YAML analytics of this campaign');
    return { ...analytics };
  }

  setResultDefinitions(workspaceId: string, campaignId: string, definitions: ResultDefinitionInput[]): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.setResultDefinitions(s, definitions));
  }

  startCampaign(workspaceId: string, campaignId: string): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.start(s));
  }

  stopCampaign(workspaceId: string, campaignId: string): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.stop(s));
  }

  forceStopCampaign(workspaceId: string, campaignId: string): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.forceStop(s));
  }

  /** The platform reports that the campaign cannot proceed (status ERROR). */
  reportError(workspaceId: string, campaignId: string, message: string): Promise<CampaignView> {
    return this.command(workspaceId, campaignId, (s) => decide.fail(s, message));
  }

  async getPerformance(workspaceId: string, campaignId: string, period: PerformancePeriod): Promise<CampaignPerformanceView> {
    checkPeriod(period);
    await this.load(workspaceId, campaignId);
    return queryCampaignPerformance(this.pool, workspaceId, campaignId, period);
  }

  async getLogs(workspaceId: string, campaignId: string, query: LogQuery) {
    await this.load(workspaceId, campaignId);
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const items = await readCampaignLog(this.pool, campaignId, { ...query, limit, workspaceId });
    return { items, next: items.length === limit ? items[items.length - 1].id : null };
  }

  async exportCampaign(workspaceId: string, campaignId: string): Promise<CampaignExport> {
    const state = await this.load(workspaceId, campaignId);
    const secretKey = newSecretKey();
    const data = await seal(archiveFiles(state), secretKey);
    const slug = state.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'campaign';
    return { fileName: `${slug}.herald`, data, secretKey };
  }

  /** Creates the exported campaign here, with a new id, in one atomic append; nothing is written if any part is refused. */
  async importCampaign(workspaceId: string, data: Buffer, secretKey: string): Promise<CampaignView> {
    const { manifest, text } = readManifest(await unseal(data, secretKey));
    const campaignId = randomUUID();
    const changes: CampaignChange[] = [];
    let state: CampaignState | null = null;
    const apply = (next: CampaignChange[]) => {
      for (const change of next) {
        changes.push(change);
        state = evolve(state, { ...change, metadata: buildMetadata({ workspaceId }), streamId: campaignStreamId(campaignId), revision: changes.length - 1, position: 0 } as RecordedEvent);
      }
    };
    const at = <T>(field: string, fn: () => T): T => {
      try {
        return fn();
      } catch (error) {
        const e = error as { field?: string; message: string };
        throw invalid(`campaign.json.${field}`, e.message);
      }
    };
    apply(at('campaign', () => decide.createCampaign({ campaignId, ...manifest.campaign })));
    // Stages refer to agents and the settings to an integration by name: they must exist here too (create them before importing).
    for (const [i, stage] of manifest.stages.entries()) {
      apply(at(`stages[${i}]`, () => decide.addStage(state!, stage)));
      await this.references.checkStage(workspaceId, stage, `campaign.json.stages[${i}].`);
    }
    for (const [i, s] of manifest.strategies.entries()) {
      const code = text(s.path, `campaign.json.strategies[${i}].path`);
      const check = await this.strategies.validate(code, s.functionName);
      if (!check.ok) throw invalid(`campaign.json.strategies[${i}]`, check.errors.map((e) => (e.line ? `line ${e.line}: ${e.message}` : e.message)).join('; '));
      apply(at(`strategies[${i}]`, () => decide.addStrategy(state!, { ...s, code })));
    }
    apply(at('settings', () => decide.changeSettings(state!, manifest.settings ?? {})));
    await this.references.checkSettings(workspaceId, manifest.settings ?? {}, 'campaign.json.settings.');
    apply(at('resultDefinitions', () => decide.setResultDefinitions(state!, manifest.resultDefinitions)));
    if (manifest.analytics) {
      const yaml = text(manifest.analytics.path, 'campaign.json.analytics.path');
      at('analytics', () => parseAnalytics(yaml));
      apply(at('analytics', () => decide.uploadAnalytics(state!, { fileName: manifest.analytics!.fileName, yaml })));
    }
    await this.store.append(campaignStreamId(campaignId), changes.map((c) => ({ type: c.type, data: c.data, metadata: buildMetadata({ workspaceId, correlationId: campaignId }) })), 'no_stream');
    return this.getCampaign(workspaceId, campaignId);
  }

  private async checkCode(code: string, functionName: string): Promise<void> {
    const check = await this.strategies.validate(code, functionName);
    if (!check.ok) throw invalid('file', check.errors.map((e) => (e.line ? `line ${e.line}: ${e.message}` : e.message)).join('; '));
  }

  private async load(workspaceId: string, campaignId: string): Promise<CampaignState> {
    const state = rebuild(await this.store.readStream(campaignStreamId(campaignId)));
    if (!state || state.workspaceId !== workspaceId || state.deleted) throw notFound(`campaign ${campaignId}`);
    return state;
  }

  private async command(
    workspaceId: string,
    campaignId: string,
    decideFn: (state: CampaignState) => CampaignChange[],
    creating = false,
    deleting = false,
  ): Promise<CampaignView> {
    const { state } = await executeCommand<CampaignState, CampaignChange>({
      store: this.store,
      streamId: campaignStreamId(campaignId),
      rebuild,
      decide: (s) => {
        if (creating) return s ? [] : decideFn(s as never);
        if (!s || s.workspaceId !== workspaceId || (s.deleted && !deleting)) throw notFound(`campaign ${campaignId}`);
        if (s.deleted) return [];
        return decideFn(s);
      },
      metadata: { workspaceId },
    });
    return toView(state!);
  }
}

