import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { invalid, notFound } from '@herald/contracts';
import type {
  AnalysisResultsView, AnalysisSessionsPage, AnalysisStatusView,
  AgentInput, AgentView, DispatchApi, ExternalDispatchView, HumanTaskClose, HumanTaskView, IntegrationInput, IntegrationView, SessionQuery, SessionView,
  WebhookReply, WebhookRequest,
} from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { EVENT_STORE, HERALD_CONFIG, PG_POOL, type HeraldConfig } from '@herald/service-defaults';
import { DispatchRuntime } from './dispatch-runtime';
import { claimExternal } from './external/external-dispatch';
import { SecretBox } from './secrets/secret-box';

/** The dispatch API (in process when embedded, behind gRPC when distributed). */
@Injectable()
export class DispatchService implements DispatchApi {
  readonly runtime: DispatchRuntime;

  constructor(@Inject(PG_POOL) pool: Pool, @Inject(EVENT_STORE) store: EventStore, @Inject(HERALD_CONFIG) config: HeraldConfig) {
    this.runtime = new DispatchRuntime({
      pool, store,
      box: SecretBox.fromEnvironment(process.env, config.mode, config.dataDir),
      publicUrl: (process.env.HERALD_PUBLIC_URL ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, ''),
      inboundSmtp: process.env.HERALD_INBOUND_SMTP_PORT ? { port: Number(process.env.HERALD_INBOUND_SMTP_PORT), host: process.env.HERALD_INBOUND_SMTP_HOST } : null,
      sipPort: Number(process.env.HERALD_SIP_PORT ?? 0),
      externalChannels: (process.env.HERALD_EXTERNAL_CHANNELS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      ...(Number(process.env.HERALD_ANALYSIS_CONCURRENCY) >= 1 ? { analysis: { concurrency: Math.floor(Number(process.env.HERALD_ANALYSIS_CONCURRENCY)) } } : {}),
      ...(Number(process.env.HERALD_DISPATCH_CONCURRENCY) >= 1 ? { senderConcurrency: Math.floor(Number(process.env.HERALD_DISPATCH_CONCURRENCY)) } : {}),
    });
  }

  get integrations() {
    return this.runtime.integrations;
  }

  configureIntegration(workspaceId: string, input: IntegrationInput): Promise<IntegrationView> {
    return this.runtime.integrations.configure(workspaceId, input);
  }

  listIntegrations(workspaceId: string): Promise<IntegrationView[]> {
    return this.runtime.integrations.list(workspaceId);
  }

  saveAgent(workspaceId: string, input: AgentInput): Promise<AgentView> {
    return this.runtime.agents.save(workspaceId, input);
  }

  listAgents(workspaceId: string, query: { channel?: string }): Promise<AgentView[]> {
    return this.runtime.agents.list(workspaceId, query);
  }

  getAgent(workspaceId: string, name: string): Promise<AgentView> {
    return this.runtime.agents.view(workspaceId, name);
  }

  removeAgent(workspaceId: string, name: string): Promise<void> {
    return this.runtime.agents.remove(workspaceId, name);
  }

  listSessions(workspaceId: string, query: SessionQuery): Promise<SessionView[]> {
    return this.runtime.sessions.list(workspaceId, query);
  }

  getSession(workspaceId: string, sessionId: string): Promise<SessionView> {
    return this.runtime.sessions.view(workspaceId, sessionId);
  }

  listHumanTasks(workspaceId: string, query: { status?: string }): Promise<HumanTaskView[]> {
    return this.runtime.human.list(workspaceId, query.status);
  }

  claimHumanTask(workspaceId: string, taskId: string, assignee: string): Promise<HumanTaskView> {
    return this.runtime.human.claim(workspaceId, taskId, assignee);
  }

  closeHumanTask(workspaceId: string, taskId: string, input: HumanTaskClose): Promise<HumanTaskView> {
    return this.runtime.human.closeTask(workspaceId, taskId, input);
  }

  handleWebhook(request: WebhookRequest): Promise<WebhookReply> {
    return this.runtime.webhooks.handle(request);
  }

  unsubscribe(token: string, oneClick: boolean): Promise<WebhookReply> {
    return this.runtime.unsubscribe.handle(token, oneClick);
  }

  async claimExternalDispatch(workspaceId: string, streamId: string, communicationId: string): Promise<ExternalDispatchView> {
    const view = await claimExternal(this.runtime, workspaceId, streamId, communicationId);
    if (!view) throw notFound(`started communication "${communicationId}"`);
    return view;
  }

  getAnalysisStatus(workspaceId: string, campaignId: string): Promise<AnalysisStatusView> {
    return this.runtime.analysis.runs.status(workspaceId, campaignId);
  }

  startAnalysis(workspaceId: string, campaignId: string, kind: 'recalculate' | 'continue'): Promise<AnalysisStatusView> {
    if (kind !== 'recalculate' && kind !== 'continue') throw invalid('kind', 'must be recalculate or continue');
    return this.runtime.analysis.runs.start(workspaceId, campaignId, kind);
  }

  stopAnalysis(workspaceId: string, campaignId: string): Promise<AnalysisStatusView> {
    return this.runtime.analysis.runs.stop(workspaceId, campaignId);
  }

  getAnalysisResults(workspaceId: string, campaignId: string): Promise<AnalysisResultsView> {
    return this.runtime.analysis.results.aggregates(workspaceId, campaignId);
  }

  listAnalysedSessions(workspaceId: string, campaignId: string, page: { after?: string; limit?: number }): Promise<AnalysisSessionsPage> {
    return this.runtime.analysis.results.sessions(workspaceId, campaignId, page);
  }
}
