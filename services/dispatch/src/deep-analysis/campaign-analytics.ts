import { campaignStreamId, notFound } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { parseAnalytics, rebuild as rebuildCampaign, type AnalyticsSpec } from '@herald/campaign-model';

/** What deep analysis needs of a campaign: its workspace, its YAML analytics (parsed) and its LLM Settings. */
export interface CampaignAnalytics {
  readonly campaignId: string;
  readonly workspaceId: string;
  readonly yamlVersion: number | null;
  /** null: no YAML uploaded (or, for a file stored before the format was checked, one that does not parse: `specError`). */
  readonly spec: AnalyticsSpec | null;
  readonly specError: string | null;
  readonly llmIntegration: string | null;
}

/**
 * Reads campaigns from their streams (the campaign aggregate is the truth;
 * dispatch keeps no copy). Workers read through a short cache: a batch of
 * sessions of one campaign reads its stream once.
 */
export class CampaignAnalyticsReader {
  private readonly cache = new Map<string, { at: number; value: CampaignAnalytics | null }>();
  private readonly specs = new Map<string, { spec: AnalyticsSpec | null; error: string | null }>();

  constructor(private readonly store: EventStore, private readonly ttlMs = 2000) {}

  /** The workspace's campaign, fresh; 404 for a campaign of another workspace, as if it did not exist. */
  async forWorkspace(workspaceId: string, campaignId: string): Promise<CampaignAnalytics> {
    const campaign = await this.read(campaignId);
    if (!campaign || campaign.workspaceId !== workspaceId) throw notFound(`campaign ${campaignId}`);
    return campaign;
  }

  async cached(campaignId: string): Promise<CampaignAnalytics | null> {
    const hit = this.cache.get(campaignId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    return this.read(campaignId);
  }

  private async read(campaignId: string): Promise<CampaignAnalytics | null> {
    const state = rebuildCampaign(await this.store.readStream(campaignStreamId(campaignId)));
    const value = state && !state.deleted ? {
      campaignId, workspaceId: state.workspaceId, yamlVersion: state.analytics?.version ?? null,
      ...this.parsed(campaignId, state.analytics), llmIntegration: state.settings.llmIntegration ?? null,
    } : null;
    this.cache.set(campaignId, { at: Date.now(), value });
    return value;
  }

  private parsed(campaignId: string, analytics: { yaml: string; version: number } | null): { spec: AnalyticsSpec | null; specError: string | null } {
    if (!analytics) return { spec: null, specError: null };
    const key = `${campaignId}@${analytics.version}`;
    let hit = this.specs.get(key);
    if (!hit) {
      try {
        hit = { spec: parseAnalytics(analytics.yaml), error: null };
      } catch (error) {
        hit = { spec: null, error: (error as Error).message };
      }
      this.specs.set(key, hit);
    }
    return { spec: hit.spec, specError: hit.error };
  }
}
