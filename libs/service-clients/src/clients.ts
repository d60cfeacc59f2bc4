import type {
  AnalyticsFile, CampaignSettingsInput, LogEntryView, LogQuery, ResultDefinitionInput, StrategyCode, StrategyFile, UpdateCampaignInput, UpdateStrategyInput,
  AddStageInput, ContactPage, AddStrategyInput, CampaignsApi, CampaignView, ContactState, ContactSnapshot, ContactSummary, CreateCampaignInput,
  DataLoadResult, DispatchApi, IngestionApi, IntegrationInput, IntegrationView, StrategiesApi, UploadView, DryRunOptions } from '@herald/contracts';
import type { DryRunView, SchedulerApi, SchedulingPolicy } from '@herald/contracts';
import type { CampaignPerformanceView, PerformancePeriod } from '@herald/contracts';
import type { AnalysisResultsView, AnalysisSessionsPage, AnalysisStatusView } from '@herald/contracts';
import type { AgentInput, AgentView, ExternalDispatchView, HumanTaskClose, HumanTaskView, JsonObject, SessionQuery, SessionView, WebhookReply, WebhookRequest } from '@herald/contracts';
import { grpcClient } from './grpc-client';

const json = <T>(s: unknown): T => JSON.parse(String(s)) as T;

export class CampaignsGrpcClient implements CampaignsApi {
  private readonly c;
  constructor(url: string) { this.c = grpcClient('campaigns', url).call; }
  private view(p: Promise<Record<string, unknown>>) { return p.then((r) => json<CampaignView>(r.campaignJson)); }
  createCampaign(workspaceId: string, i: CreateCampaignInput) { return this.view(this.c.createCampaign({ workspaceId, ...i })); }
  listCampaigns(workspaceId: string, q: { filter?: 'all' | 'running'; search?: string }) {
    return this.c.listCampaigns({ workspaceId, filter: q.filter ?? 'all', search: q.search ?? '' }).then((r) => (r.campaignsJson as string[]).map((s) => json<CampaignView>(s)));
  }
  getCampaign(workspaceId: string, campaignId: string) { return this.view(this.c.getCampaign({ workspaceId, campaignId })); }
  addStage(workspaceId: string, campaignId: string, i: AddStageInput) {
    return this.view(this.c.addStage({
      workspaceId, campaignId, name: i.name, description: i.description, channel: i.channel, agent: i.agent ?? '',
      settingsJson: JSON.stringify(i.settings ?? {}), variantsJson: i.variants ? JSON.stringify(i.variants) : '',
    }));
  }
  addStrategy(workspaceId: string, campaignId: string, i: AddStrategyInput) { return this.view(this.c.addStrategy({ workspaceId, campaignId, ...i })); }
  startCampaign(workspaceId: string, campaignId: string) { return this.view(this.c.startCampaign({ workspaceId, campaignId })); }
  stopCampaign(workspaceId: string, campaignId: string) { return this.view(this.c.stopCampaign({ workspaceId, campaignId })); }
  forceStopCampaign(workspaceId: string, campaignId: string) { return this.view(this.c.forceStopCampaign({ workspaceId, campaignId })); }
  async deleteCampaign(workspaceId: string, campaignId: string) { await this.c.deleteCampaign({ workspaceId, campaignId }); }
  getAnalytics(workspaceId: string, campaignId: string) { return this.c.getAnalytics({ workspaceId, campaignId }).then((r) => json<AnalyticsFile>(r.json)); }
  private cmd(method: string, workspaceId: string, campaignId: string, targetId: string, input: unknown) {
    return this.c[method]({ workspaceId, campaignId, targetId, inputJson: JSON.stringify(input ?? {}) });
  }
  updateCampaign(ws: string, id: string, i: UpdateCampaignInput) { return this.view(this.cmd('updateCampaign', ws, id, '', i)); }
  updateStage(ws: string, id: string, stageId: string, i: AddStageInput) { return this.view(this.cmd('updateStage', ws, id, stageId, i)); }
  removeStage(ws: string, id: string, stageId: string) { return this.view(this.cmd('removeStage', ws, id, stageId, {})); }
  updateStrategy(ws: string, id: string, strategyId: string, i: UpdateStrategyInput) { return this.view(this.cmd('updateStrategy', ws, id, strategyId, i)); }
  replaceStrategyFile(ws: string, id: string, strategyId: string, f: StrategyFile) { return this.view(this.cmd('replaceStrategyFile', ws, id, strategyId, f)); }
  removeStrategy(ws: string, id: string, strategyId: string) { return this.view(this.cmd('removeStrategy', ws, id, strategyId, {})); }
  getStrategyCode(ws: string, id: string, strategyId: string) { return this.cmd('getStrategyCode', ws, id, strategyId, {}).then((r) => json<StrategyCode>(r.json)); }
  updateSettings(ws: string, id: string, settings: CampaignSettingsInput) { return this.view(this.cmd('updateSettings', ws, id, '', settings)); }
  uploadAnalytics(ws: string, id: string, f: { fileName: string; yaml: string }) { return this.view(this.cmd('uploadAnalytics', ws, id, '', f)); }
  setResultDefinitions(ws: string, id: string, d: ResultDefinitionInput[]) { return this.view(this.cmd('setResultDefinitions', ws, id, '', d)); }
  getLogs(ws: string, id: string, q: LogQuery) { return this.cmd('getLogs', ws, id, '', q).then((r) => json<{ items: LogEntryView[]; next: number | null }>(r.json)); }
  exportCampaign(workspaceId: string, campaignId: string) {
    return this.c.exportCampaign({ workspaceId, campaignId }).then((r) => ({ fileName: r.fileName as string, data: Buffer.from(r.data as Buffer), secretKey: r.secretKey as string }));
  }
  importCampaign(workspaceId: string, data: Buffer, secretKey: string) { return this.view(this.c.importCampaign({ workspaceId, data, secretKey })); }
  getPerformance(workspaceId: string, campaignId: string, period: PerformancePeriod) {
    return this.c.getPerformance({ workspaceId, campaignId, period }).then((r) => json<CampaignPerformanceView>(r.json));
  }
}

export class IngestionGrpcClient implements IngestionApi {
  private readonly c;
  constructor(url: string) { this.c = grpcClient('ingestion', url).call; }
  private upload(p: Promise<Record<string, unknown>>) { return p.then((r) => json<UploadView>(r.uploadJson)); }
  beginUpload(workspaceId: string, campaignId: string, fileName: string) { return this.upload(this.c.beginUpload({ workspaceId, campaignId, fileName })); }
  async appendUploadChunk(workspaceId: string, uploadId: string, seq: number, data: Buffer) { await this.c.appendUploadChunk({ workspaceId, uploadId, seq, data }); }
  commitUpload(workspaceId: string, uploadId: string) { return this.upload(this.c.commitUpload({ workspaceId, uploadId })); }
  abortUpload(workspaceId: string, uploadId: string, reason: string) { return this.upload(this.c.abortUpload({ workspaceId, uploadId, reason })); }
  getUpload(workspaceId: string, campaignId: string, uploadId: string) { return this.upload(this.c.getUpload({ workspaceId, campaignId, uploadId })); }
  getContact(workspaceId: string, campaignId: string, contactKey: string) {
    return this.c.getContact({ workspaceId, campaignId, contactKey }).then((r) => json<ContactState>(r.contactJson));
  }
  listContacts(workspaceId: string, campaignId: string, { after, limit, ...filter }: ContactPage) {
    return this.c.listContacts({ workspaceId, campaignId, after: after ?? '', limit: limit ?? 50, filterJson: JSON.stringify(filter) }).then((r) => ({
      items: (r.itemsJson as string[]).map((s) => json<ContactSummary>(s)),
      next: (r.next as string) || null,
    }));
  }
}

export class StrategiesGrpcClient implements StrategiesApi {
  private readonly c;
  constructor(url: string) { this.c = grpcClient('strategies', url).call; }
  validate(code: string, functionName: string) {
    return this.c.validate({ code, functionName }).then((r) => ({
      ok: Boolean(r.ok),
      errors: (r.errors as { line: number; message: string }[]).map((e) => ({ line: e.line || null, message: e.message })),
    }));
  }
  runDataLoad(workspaceId: string, campaignId: string, items: { contact: ContactSnapshot; existing: ContactSnapshot | null }[]) {
    return this.c.runDataLoad({ workspaceId, campaignId, itemsJson: JSON.stringify(items) }).then((r) => ({
      strategyVersion: (r.strategyVersion as number) || null,
      results: json<DataLoadResult[]>(r.resultsJson),
    }));
  }
  simulateAggregation(workspaceId: string, campaignId: string, items: { contact: ContactSnapshot; sessionResults: JsonObject | null; flaggedCommunicationId: string }[], now: string) {
    return this.c.simulateAggregation({ workspaceId, campaignId, itemsJson: JSON.stringify(items), now }).then((r) => ({
      strategyVersion: (r.strategyVersion as number) || null,
      results: json<DataLoadResult[]>(r.resultsJson),
    }));
  }
}

export class DispatchGrpcClient implements DispatchApi {
  private readonly c;
  constructor(url: string) { this.c = grpcClient('dispatch', url).call; }
  configureIntegration(workspaceId: string, i: IntegrationInput) {
    return this.c.configureIntegration({ workspaceId, name: i.name, type: i.type, configJson: JSON.stringify(i.config ?? {}) }).then((r) => json<IntegrationView>(r.integrationJson));
  }
  listIntegrations(workspaceId: string) {
    return this.c.listIntegrations({ workspaceId }).then((r) => (r.integrationsJson as string[]).map((s) => json<IntegrationView>(s)));
  }
  private j<T>(method: string, workspaceId: string, target: string, input: unknown = {}) {
    return this.c[method]({ workspaceId, target, inputJson: JSON.stringify(input ?? {}) }).then((r) => json<T>(r.json));
  }
  saveAgent(ws: string, i: AgentInput) { return this.j<AgentView>('saveAgent', ws, '', i); }
  listAgents(ws: string, q: { channel?: string }) { return this.j<AgentView[]>('listAgents', ws, '', q); }
  getAgent(ws: string, name: string) { return this.j<AgentView>('getAgent', ws, name); }
  async removeAgent(ws: string, name: string) { await this.j<null>('removeAgent', ws, name); }
  listSessions(ws: string, q: SessionQuery) { return this.j<SessionView[]>('listSessions', ws, '', q); }
  getSession(ws: string, id: string) { return this.j<SessionView>('getSession', ws, id); }
  listHumanTasks(ws: string, q: { status?: string }) { return this.j<HumanTaskView[]>('listHumanTasks', ws, '', q); }
  claimHumanTask(ws: string, id: string, assignee: string) { return this.j<HumanTaskView>('claimHumanTask', ws, id, { assignee }); }
  closeHumanTask(ws: string, id: string, i: HumanTaskClose) { return this.j<HumanTaskView>('closeHumanTask', ws, id, i); }
  handleWebhook(r: WebhookRequest) {
    return this.c.handleWebhook({ ...r }).then((x) => ({ status: Number(x.status), contentType: String(x.contentType), body: String(x.body) }) as WebhookReply);
  }
  unsubscribe(token: string, oneClick: boolean) {
    return this.c.unsubscribe({ token, oneClick }).then((x) => ({ status: Number(x.status), contentType: String(x.contentType), body: String(x.body) }) as WebhookReply);
  }
  getAnalysisStatus(ws: string, campaignId: string) { return this.j<AnalysisStatusView>('getAnalysisStatus', ws, campaignId); }
  startAnalysis(ws: string, campaignId: string, kind: 'recalculate' | 'continue') { return this.j<AnalysisStatusView>('startAnalysis', ws, campaignId, { kind }); }
  stopAnalysis(ws: string, campaignId: string) { return this.j<AnalysisStatusView>('stopAnalysis', ws, campaignId); }
  getAnalysisResults(ws: string, campaignId: string) { return this.j<AnalysisResultsView>('getAnalysisResults', ws, campaignId); }
  listAnalysedSessions(ws: string, campaignId: string, page: { after?: string; limit?: number }) { return this.j<AnalysisSessionsPage>('listAnalysedSessions', ws, campaignId, page); }
  claimExternalDispatch(workspaceId: string, streamId: string, communicationId: string) {
    return this.c.claimExternalDispatch({ workspaceId, streamId, communicationId }).then((v) => {
      const c = v.contact as Record<string, string>;
      return {
        claimed: Boolean(v.claimed), communicationId: String(v.communicationId), streamId: String(v.streamId), sessionId: String(v.sessionId),
        channel: String(v.channel), stageName: String(v.stageName), variant: (v.variant as string) || null, agent: (v.agent as string) || null,
        settings: json<Record<string, unknown>>(v.settingsJson), opening: (v.opening as string) || null,
        contact: { key: c.key, name: c.name || null, email: c.email || null, phone: c.phone || null, parameters: json<JsonObject>(c.parametersJson) },
      } as ExternalDispatchView;
    });
  }
}

export class SchedulerGrpcClient implements SchedulerApi {
  private readonly c;
  constructor(url: string) { this.c = grpcClient('scheduler', url).call; }
  getPolicy(workspaceId: string) { return this.c.getPolicy({ workspaceId }).then((r) => json<SchedulingPolicy>(r.policyJson)); }
  setPolicy(workspaceId: string, policy: SchedulingPolicy) {
    return this.c.setPolicy({ workspaceId, policyJson: JSON.stringify(policy ?? null) }).then((r) => json<SchedulingPolicy>(r.policyJson));
  }
  dryRun(workspaceId: string, campaignId: string, o: DryRunOptions) {
    return this.c.dryRun({
      workspaceId, campaignId, from: o.from ?? '', contactLimit: o.contactLimit ?? 0, hasContactLimit: o.contactLimit !== undefined,
      horizonDays: o.horizonDays ?? 0, maxAggregationRuns: o.maxAggregationRuns ?? 0,
    })
      .then((r) => json<DryRunView>(r.dryRunJson));
  }
}
