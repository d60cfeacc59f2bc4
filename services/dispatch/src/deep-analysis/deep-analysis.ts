import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { TOPICS, type RecordedEvent } from '@herald/contracts';
import type { BusSubscription, EventBus } from '@herald/bus';
import type { EventStore } from '@herald/event-store';
import { observeDelivery, registerConsumerGroup } from '@herald/observability';
import type { Integrations } from '../integrations/integrations';
import { AnalysisResults } from './analysis-results';
import { AnalysisRuns, type EndedSession } from './analysis-runs';
import { AnalysisWorker, type AnalysisWorkerOptions } from './analysis-worker';
import { CampaignAnalyticsReader } from './campaign-analytics';

/**
 * Deep analysis (docs/analytics.md): the campaign's YAML analytics answered
 * by its LLM integration for each ended session. Commands and reads for the
 * API, the worker that analyses the queue, and the consumer that puts
 * sessions in it as they end.
 */
export class DeepAnalysis {
  readonly campaigns: CampaignAnalyticsReader;
  readonly runs: AnalysisRuns;
  readonly results: AnalysisResults;
  readonly worker: AnalysisWorker;
  private readonly logger = new Logger('DeepAnalysis');

  constructor(private readonly pool: Pool, store: EventStore, integrations: Integrations, options: AnalysisWorkerOptions = {}) {
    this.campaigns = new CampaignAnalyticsReader(store);
    this.worker = new AnalysisWorker(pool, store, this.campaigns, integrations, options);
    this.runs = new AnalysisRuns(pool, this.campaigns, integrations, () => this.worker.wake());
    this.results = new AnalysisResults(pool, this.campaigns);
  }

  /**
   * The consumer dispatch.deep-analysis: CommunicationEnded of a session
   * whose campaign has a YAML joins the queue (an insert that a redelivery
   * finds done). A new consumer group reads the log from its start: ends
   * older than the YAML's depth are left to Recalculate, as they would be.
   */
  async subscribe(bus: EventBus): Promise<BusSubscription> {
    const group = 'dispatch.deep-analysis';
    const topics = [TOPICS.contactEvents];
    const one = observeDelivery(group, (event) => this.onEnded([event]));
    registerConsumerGroup(group, topics);
    return bus.subscribe({
      group, topics, types: ['CommunicationEnded'],
      handler: (event, topic) => (event.type === 'CommunicationEnded' ? one(event, topic) : Promise.resolve()),
      batchHandler: (items) => this.onEnded(items.map((i) => i.event)),
      onError: (error, event) => this.logger.error(`failed on ${event.type} ${event.streamId}@${event.revision}: ${(error as Error)?.stack ?? error}`),
    });
  }

  async onEnded(events: readonly RecordedEvent[]): Promise<void> {
    const ended = events.filter((e) => e.type === 'CommunicationEnded');
    if (!ended.length) return;
    const at = new Map(ended.map((e) => [(e.data as { communicationId: string }).communicationId, Date.parse(e.metadata.timestamp)]));
    const { rows } = await this.pool.query<{ session_id: string; workspace_id: string; campaign_id: string; stream_id: string; communication_id: string }>(
      `SELECT session_id, workspace_id, campaign_id, stream_id, communication_id FROM dispatch_sessions WHERE communication_id = ANY($1::text[])`, [[...at.keys()]]);
    const byCampaign = new Map<string, (EndedSession & { at: number })[]>();
    for (const r of rows) {
      const list = byCampaign.get(r.campaign_id) ?? [];
      list.push({ workspaceId: r.workspace_id, campaignId: r.campaign_id, sessionId: r.session_id, streamId: r.stream_id, at: at.get(r.communication_id) ?? Date.now() });
      byCampaign.set(r.campaign_id, list);
    }
    for (const [campaignId, sessions] of byCampaign) {
      const campaign = await this.campaigns.cached(campaignId);
      if (!campaign?.spec) continue;
      const since = Date.now() - campaign.spec.depthDays * 86_400_000;
      await this.runs.enqueueEnded(campaign, sessions.filter((s) => s.at >= since && s.workspaceId === campaign.workspaceId));
    }
  }
}
