import type { ContactData, ContactState, Json, JsonObject, Outcome } from './contact';

/**
 * The services' APIs. Embedded, the gateway calls the implementations in
 * process; distributed, through gRPC clients that implement the same
 * interfaces (proto/herald/*). Views are plain JSON-safe objects.
 */

export interface StageVariantView {
  label: string;
  group: 'control' | 'experimental';
  weight: number;
  channel: string;
  agent: string | null;
  settings: Record<string, unknown>;
}

export interface StageView {
  id: string;
  name: string;
  description: string;
  channel: string;
  agent: string | null;
  settings: Record<string, unknown>;
  variants?: StageVariantView[];
}

export interface StrategyView {
  id: string;
  name: string;
  description: string;
  type: 'DATA_LOAD' | 'AGGREGATION' | 'INTERMEDIATE_ANALYSIS';
  functionName: string;
  fileName: string;
  version: number;
}

export interface CampaignView {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  labels: string[];
  status: 'CREATED' | 'CONFIGURED' | 'RUNNING' | 'STOPPED' | 'FINISHED' | 'ERROR';
  statusMessage: string;
  stages: StageView[];
  strategies: StrategyView[];
  contactCount: number;
  activeUploadId: string | null;
  settings: CampaignSettingsInput;
  /** The uploaded YAML analytics file (Download YAML gives its text). */
  analytics: { fileName: string; version: number } | null;
  /** Built-in (ResultFlag, ResultDatetime) first, then the campaign's own. */
  resultDefinitions: ResultDefinitionInput[];
  createdAt: string;
  revision: number;
}

export interface CampaignSettingsInput {
  llmIntegration?: string | null;
  defaultWindowMinutes?: number;
  strategyTimeoutSeconds?: number;
  defaultTimezone?: string;
  egressAllowlist?: string[];
}

export interface ResultDefinitionInput { code: string; name: string; description?: string }
export interface UpdateCampaignInput { name?: string; description?: string; labels?: string[] }
export interface UpdateStrategyInput { name?: string; description?: string; functionName?: string }
export interface StrategyFile { fileName: string; code: string }
export interface StrategyCode extends StrategyFile { version: number; functionName: string; type: string }
export interface AnalyticsFile { fileName: string; yaml: string; version: number }
export interface LogQuery { level?: string; contactKey?: string; after?: number; limit?: number }
export interface LogEntryView { id: number; level: string; source: string; contactKey: string | null; message: string; details: unknown; createdAt: string }
/** An export: the encrypted archive and the secret key that opens it (shown once, never stored). */
export interface CampaignExport { fileName: string; data: Buffer; secretKey: string }

export interface CreateCampaignInput { name: string; description: string; labels?: string[] }
export interface AddStageInput {
  name: string;
  description: string;
  channel: string;
  agent?: string | null;
  settings?: Record<string, unknown>;
  /** A/B testing: alternative configurations with label and weight. */
  variants?: { label: string; group?: string; weight: number; channel?: string; agent?: string | null; settings?: Record<string, unknown> }[] | null;
}
export interface AddStrategyInput { name: string; description: string; type: string; functionName: string; fileName: string; code: string }

/** How the performance panel's distributions are cut: UTC days, ISO weeks (from Monday), calendar months (docs/analytics.md). */
export const PERFORMANCE_PERIODS = ['day', 'week', 'month'] as const;
export type PerformancePeriod = (typeof PERFORMANCE_PERIODS)[number];

/**
 * The performance panel of a campaign (docs/analytics.md defines each number).
 * The distributions count each contact once, in the period of its creation,
 * by its current stage or outcome; `contacts` arrays align with `periods`.
 */
export interface CampaignPerformanceView {
  campaignId: string;
  period: PerformancePeriod;
  totalContacts: number;
  /** A strategy set an outcome other than the initial UNCERTAIN. */
  processedContacts: number;
  /** Final outcome: SUCCESS, NEGATIVE or ERROR. */
  completedContacts: number;
  successfulContacts: number;
  /** completedContacts / totalContacts; null without contacts. */
  completionRate: number | null;
  /** successfulContacts / processedContacts; null while none is processed. */
  successRate: number | null;
  /** First day (YYYY-MM-DD, UTC) of each period holding contacts, ascending. */
  periods: string[];
  /** Stage Distribution by Period; stage null: no stage yet. */
  stages: { stage: string | null; contacts: number[] }[];
  /** Status Distribution by Period, in the order of OUTCOMES. */
  outcomes: { outcome: Outcome; contacts: number[] }[];
}

export interface CampaignsApi {
  createCampaign(workspaceId: string, input: CreateCampaignInput): Promise<CampaignView>;
  listCampaigns(workspaceId: string, query: { filter?: 'all' | 'running'; search?: string }): Promise<CampaignView[]>;
  getCampaign(workspaceId: string, campaignId: string): Promise<CampaignView>;
  addStage(workspaceId: string, campaignId: string, input: AddStageInput): Promise<CampaignView>;
  addStrategy(workspaceId: string, campaignId: string, input: AddStrategyInput): Promise<CampaignView>;
  startCampaign(workspaceId: string, campaignId: string): Promise<CampaignView>;
  stopCampaign(workspaceId: string, campaignId: string): Promise<CampaignView>;
  forceStopCampaign(workspaceId: string, campaignId: string): Promise<CampaignView>;
  updateCampaign(workspaceId: string, campaignId: string, input: UpdateCampaignInput): Promise<CampaignView>;
  deleteCampaign(workspaceId: string, campaignId: string): Promise<void>;
  updateStage(workspaceId: string, campaignId: string, stageId: string, input: AddStageInput): Promise<CampaignView>;
  removeStage(workspaceId: string, campaignId: string, stageId: string): Promise<CampaignView>;
  updateStrategy(workspaceId: string, campaignId: string, strategyId: string, input: UpdateStrategyInput): Promise<CampaignView>;
  replaceStrategyFile(workspaceId: string, campaignId: string, strategyId: string, file: StrategyFile): Promise<CampaignView>;
  removeStrategy(workspaceId: string, campaignId: string, strategyId: string): Promise<CampaignView>;
  getStrategyCode(workspaceId: string, campaignId: string, strategyId: string): Promise<StrategyCode>;
  updateSettings(workspaceId: string, campaignId: string, settings: CampaignSettingsInput): Promise<CampaignView>;
  uploadAnalytics(workspaceId: string, campaignId: string, file: { fileName: string; yaml: string }): Promise<CampaignView>;
  getAnalytics(workspaceId: string, campaignId: string): Promise<AnalyticsFile>;
  setResultDefinitions(workspaceId: string, campaignId: string, definitions: ResultDefinitionInput[]): Promise<CampaignView>;
  getLogs(workspaceId: string, campaignId: string, query: LogQuery): Promise<{ items: LogEntryView[]; next: number | null }>;
  exportCampaign(workspaceId: string, campaignId: string): Promise<CampaignExport>;
  importCampaign(workspaceId: string, data: Buffer, secretKey: string): Promise<CampaignView>;
  /** The performance panel's numbers, from the campaign-performance read model. */
  getPerformance(workspaceId: string, campaignId: string, period: PerformancePeriod): Promise<CampaignPerformanceView>;
}

export interface RowError { row: number; field: string | null; message: string }

export interface UploadView {
  id: string;
  campaignId: string;
  fileName: string;
  state: 'receiving' | 'queued' | 'processing' | 'completed' | 'failed';
  rowsRead: number;
  imported: number;
  rejected: number;
  /** The first rejected rows with their reasons (capped). */
  errors: RowError[];
  message: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface ContactSummary {
  key: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  externalId: string | null;
  currentStage: string | null;
  outcome: Outcome;
  communications: number;
  createdAt: string;
  /** Imported data (the expanded row's Parameters). */
  parameters: JsonObject;
  /** Collected campaign results (the expanded row's Results). */
  results: JsonObject;
}

/** Contact Filters: every given field narrows the list (text fields match a part, case-insensitively). */
export interface ContactFilter {
  name?: string;
  email?: string;
  phone?: string;
  outcome?: Outcome;
  externalId?: string;
  /** ISO-8601; inclusive. */
  createdFrom?: string;
  /** ISO-8601; exclusive. */
  createdTo?: string;
}

export interface ContactPage extends ContactFilter { after?: string; limit?: number }

export interface IngestionApi {
  beginUpload(workspaceId: string, campaignId: string, fileName: string): Promise<UploadView>;
  appendUploadChunk(workspaceId: string, uploadId: string, seq: number, data: Buffer): Promise<void>;
  commitUpload(workspaceId: string, uploadId: string): Promise<UploadView>;
  abortUpload(workspaceId: string, uploadId: string, reason: string): Promise<UploadView>;
  getUpload(workspaceId: string, campaignId: string, uploadId: string): Promise<UploadView>;
  getContact(workspaceId: string, campaignId: string, contactKey: string): Promise<ContactState>;
  listContacts(workspaceId: string, campaignId: string, page: ContactPage): Promise<{ items: ContactSummary[]; next: string | null }>;
}

export type ContactSnapshot = ContactData & { createdAt: string };

export interface StrategyError { error: string; traceback: string }
export type DataLoadResult = ({ ok: true; contact: JsonObject } | ({ ok: false } & StrategyError)) & { logs: { level: string; message: string }[] };

export interface StrategiesApi {
  validate(code: string, functionName: string): Promise<{ ok: boolean; errors: { line: number | null; message: string }[] }>;
  /** Runs the campaign's Data Load strategy on a batch of rows; one result per item, in order. */
  runDataLoad(
    workspaceId: string,
    campaignId: string,
    items: { contact: ContactSnapshot; existing: ContactSnapshot | null }[],
  ): Promise<{ strategyVersion: number | null; results: DataLoadResult[] }>;
  /** The dry run's Aggregation: the campaign's strategy on simulated ends at the virtual time `now`; nothing is written. */
  simulateAggregation(
    workspaceId: string,
    campaignId: string,
    items: { contact: ContactSnapshot; sessionResults: JsonObject | null; flaggedCommunicationId: string }[],
    now: string,
  ): Promise<{ strategyVersion: number | null; results: DataLoadResult[] }>;
}

export interface IntegrationInput { name: string; type: string; config: Record<string, unknown> }
export interface IntegrationView {
  name: string;
  type: string;
  config: Record<string, unknown>;
  hasPassword: boolean;
  /** Names of the stored secret fields; their values are never returned. */
  secrets?: string[];
}

/** An agent of the registry (services/dispatch, docs/agents.md). Secret fields are write-only. */
export interface AgentInput {
  name: string;
  description?: string;
  /** llm: OpenAI-compatible chat completions; webhook: an external agent over HTTP; scripted: rules (demos, tests). */
  backend: 'llm' | 'webhook' | 'scripted';
  /** Channels the agent serves ("Agents with channel"). */
  channels?: string[];
  /** Integrations the agent serves ("Agents with integration"). */
  integrations?: string[];
  /** Workflow states, each with its system prompt; `start: true` marks a start state. */
  states?: { name: string; prompt?: string; start?: boolean }[];
  /** Contact silence that ends a conversation (default 86400); strategies extend it through internal_data. */
  silenceTimeoutSeconds?: number;
  llm?: { integration?: string; model?: string; extract?: { name: string; description?: string }[] };
  webhook?: { url: string; secret?: string };
  scripted?: {
    greeting?: string;
    rules: { match: string; reply?: string; end?: boolean; state?: string; results?: Record<string, unknown> }[];
    fallback?: string;
  };
  /** Mobile Push configuration; only agents with one serve the Mobile Push channel. */
  push?: {
    title?: string;
    body?: string;
    fcm?: { projectId: string; clientEmail: string; privateKey?: string; apiUrl?: string; tokenUrl?: string };
    webPush?: { subject: string; publicKey: string; privateKey?: string };
  };
}
export interface AgentView extends AgentInput {
  startStates: string[];
  hasPush: boolean;
  /** Names of the stored secret fields (webhook.secret, push.fcm.privateKey, push.webPush.privateKey). */
  secrets: string[];
  updatedAt: string;
}

export interface SessionMessageView { messageId: string; role: 'agent' | 'contact'; content: string; createdAt: string }
export interface SessionView {
  id: string;
  communicationId: string;
  campaignId: string;
  contactKey: string;
  channel: string;
  agent: string | null;
  integration: string | null;
  state: string | null;
  status: 'open' | 'closed';
  endReason: string | null;
  startedAt: string;
  endedAt: string | null;
  messages: SessionMessageView[];
}
export interface SessionQuery { campaignId?: string; contactKey?: string; communicationId?: string; status?: 'open' | 'closed'; limit?: number }

export interface HumanTaskView {
  id: string;
  communicationId: string;
  campaignId: string;
  contactKey: string;
  stageName: string;
  /** The agent role the stage names. */
  role: string | null;
  status: 'open' | 'claimed' | 'closed';
  assignee: string | null;
  contact: { name: string | null; email: string | null; phone: string | null; parameters: JsonObject };
  instructions: string | null;
  createdAt: string;
  claimedAt: string | null;
  closedAt: string | null;
  result: string | null;
}
export interface HumanTaskClose {
  assignee: string;
  status?: 'COMPLETED' | 'INTERRUPTED' | 'ERROR';
  sessionStatus?: string;
  result?: string;
  sessionResults?: JsonObject;
}

/** An inbound provider request, passed as received (raw body: signatures cover the exact bytes). */
export interface WebhookRequest {
  workspaceId: string;
  integration: string;
  method: string;
  /** The public URL the provider called (Twilio signs it). */
  url: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  body: Buffer;
}
export interface WebhookReply { status: number; contentType: string; body: string }

/** What an external channel adapter gets when it claims a dispatch request (docs/channel-adapters.md). */
export interface ExternalDispatchView {
  /** False when the communication was claimed before: the adapter must not send. */
  claimed: boolean;
  communicationId: string;
  streamId: string;
  sessionId: string;
  channel: string;
  stageName: string;
  variant: string | null;
  agent: string | null;
  settings: Record<string, unknown>;
  contact: { key: string; name: string | null; email: string | null; phone: string | null; parameters: JsonObject };
  /** The stage's first message, rendered with the contact's values. */
  opening: string | null;
}

/** Deep analysis (docs/analytics.md): the campaign's YAML analytics answered by its LLM for each ended session. */
export type AnalysisRunKind = 'recalculate' | 'continue' | 'live';
export interface AnalysisStatusView {
  campaignId: string;
  /** The campaign's current YAML analytics version (null: none uploaded). */
  yamlVersion: number | null;
  /** none: no YAML; idle: nothing calculated yet; running: Progress; stopped: Stop was pressed; done: Done. */
  state: 'none' | 'idle' | 'running' | 'stopped' | 'done';
  /** The campaign's current calculation: Recalculate, Continue calculation, or new sessions analysed as they end (live). */
  run: { id: string; kind: AnalysisRunKind; yamlVersion: number; since: string | null; startedAt: string; finishedAt: string | null; stoppedAt: string | null } | null;
  /** Sessions of that calculation by state (running: being analysed now). */
  counts: { total: number; pending: number; running: number; done: number; failed: number; cancelled: number };
  lastError: string | null;
}
export interface MetricAggregateView {
  code: string;
  name: string;
  description: string | null;
  type: 'boolean' | 'number' | 'scale' | 'enum' | 'text';
  chart: 'bar' | 'stat' | 'list' | 'none';
  unit: string | null;
  min: number | null;
  max: number | null;
  /** Sessions with a result of the metric's current definition; answered: those whose value is not null. */
  analysed: number;
  answered: number;
  /** boolean: true and false answers, and the share of true among them. */
  trueCount?: number;
  falseCount?: number;
  trueRate?: number | null;
  /** number and scale. */
  mean?: number | null;
  minValue?: number | null;
  maxValue?: number | null;
  /** enum (every value, in the file's order) and scale (each whole value). */
  counts?: { value: string; count: number }[];
  /** text: the latest answers. */
  samples?: { sessionId: string; value: string }[];
}
export interface AnalysisResultsView {
  campaignId: string;
  yamlVersion: number | null;
  title: string | null;
  depthDays: number | null;
  /** Sessions with at least one result of the current definitions. */
  sessions: number;
  metrics: MetricAggregateView[];
  /** Metric codes in the order of the per-session table. */
  sessionColumns: string[];
}
export interface AnalysedSessionView {
  sessionId: string;
  contactKey: string;
  channel: string;
  endedAt: string | null;
  analysedAt: string;
  values: Record<string, Json>;
  /** Why a metric has no value (the answer was out of range, not one of the values, ...). */
  errors: Record<string, string>;
}
export interface AnalysisSessionsPage { items: AnalysedSessionView[]; next: string | null }

export interface DispatchApi {
  configureIntegration(workspaceId: string, input: IntegrationInput): Promise<IntegrationView>;
  listIntegrations(workspaceId: string): Promise<IntegrationView[]>;
  saveAgent(workspaceId: string, input: AgentInput): Promise<AgentView>;
  listAgents(workspaceId: string, query: { channel?: string }): Promise<AgentView[]>;
  getAgent(workspaceId: string, name: string): Promise<AgentView>;
  removeAgent(workspaceId: string, name: string): Promise<void>;
  listSessions(workspaceId: string, query: SessionQuery): Promise<SessionView[]>;
  getSession(workspaceId: string, sessionId: string): Promise<SessionView>;
  listHumanTasks(workspaceId: string, query: { status?: string }): Promise<HumanTaskView[]>;
  claimHumanTask(workspaceId: string, taskId: string, assignee: string): Promise<HumanTaskView>;
  closeHumanTask(workspaceId: string, taskId: string, input: HumanTaskClose): Promise<HumanTaskView>;
  /** Verifies and applies a provider webhook; a missing or wrong signature answers 403 and changes nothing. */
  handleWebhook(request: WebhookRequest): Promise<WebhookReply>;
  /** RFC 8058 one-click unsubscribe (oneClick: the POST); a GET only shows the confirmation page. */
  unsubscribe(token: string, oneClick: boolean): Promise<WebhookReply>;
  /** An external adapter claims a request it consumed (streamId and communicationId from the CommunicationStarted message). */
  claimExternalDispatch(workspaceId: string, streamId: string, communicationId: string): Promise<ExternalDispatchView>;
  /** Deep analysis: Status, Recalculate / Continue calculation, Stop, the aggregates and the per-session results. */
  getAnalysisStatus(workspaceId: string, campaignId: string): Promise<AnalysisStatusView>;
  startAnalysis(workspaceId: string, campaignId: string, kind: 'recalculate' | 'continue'): Promise<AnalysisStatusView>;
  stopAnalysis(workspaceId: string, campaignId: string): Promise<AnalysisStatusView>;
  getAnalysisResults(workspaceId: string, campaignId: string): Promise<AnalysisResultsView>;
  listAnalysedSessions(workspaceId: string, campaignId: string, page: { after?: string; limit?: number }): Promise<AnalysisSessionsPage>;
}

/** Scheduling rules of a workspace (services/scheduler). */
export interface SchedulingPolicy {
  /** At most maxStarts communications start per person (same email or phone) across the workspace's campaigns in any rolling perHours. */
  frequencyCap: { maxStarts: number; perHours: number } | null;
  /** Starts per minute per channel; a start beyond it waits (never dropped), or is Missed if its window closes first. */
  rateLimits: Record<string, { perMinute: number }>;
}

export interface DryRunStep {
  communicationId: string;
  name: string;
  stageName: string;
  channel: string | null;
  variant: string | null;
  plannedStart: string;
  windowEnd: string;
  outcome: 'START' | 'MISSED' | 'ERROR';
  /** When it would start, or be marked Missed / Error. */
  at: string;
  /** How long the scheduler's rules (sending hours, caps, rate limits) delayed the start, in ms. */
  delayedMs: number;
  reason: string | null;
  /** Set on a follow-up the simulated Aggregation planned: the communication whose end planned it. */
  plannedBy?: 'AGGREGATION';
  plannedAfter?: string;
}

/** What the dry run's simulated Aggregation did (docs/scheduling.md, Dry run). */
export interface DryRunAggregationReport {
  simulated: boolean;
  /** Why Aggregation was not simulated (no strategy, or no strategies runtime in this process). */
  reason: string | null;
  /** What each simulated end is assumed to be. */
  assumption: string;
  horizon: string | null;
  maxRuns: number;
  runs: number;
  /** Follow-ups planned, planned communications moved or renamed, and cancelled, by the simulated runs. */
  planned: number;
  updated: number;
  cancelled: number;
  /** Runs whose strategy raised or returned a contact that cannot be applied (the first 20 are listed). */
  failed: number;
  errors: { contactKey: string; communicationId: string; error: string }[];
  /** Ends not run through Aggregation: after the horizon, or past maxRuns. */
  notRun: { afterHorizon: number; overMaxRuns: number };
}

export interface DryRunView {
  campaignId: string;
  /** The virtual clock's start (the moment Start would be pressed). */
  from: string;
  /** What the simulation applies, and what it leaves out. */
  simulated: string[];
  notSimulated: string[];
  totals: { contacts: number; communications: number; starts: number; missed: number; errors: number; lastAt: string | null };
  stages: { stageName: string; channel: string | null; starts: number; missed: number; errors: number; firstStart: string | null; lastStart: string | null }[];
  contacts: { key: string; name: string | null; timeZones: string[]; timeZoneSource: string; communications: DryRunStep[] }[];
  /** True when more contacts were simulated than returned (contactLimit). */
  truncated: boolean;
  aggregation: DryRunAggregationReport;
}

export interface DryRunOptions {
  from?: string;
  /** How many contacts to return in full (all are simulated). */
  contactLimit?: number;
  /** Ends up to this many days after `from` run Aggregation (default 31, at most 366). */
  horizonDays?: number;
  /** At most this many simulated Aggregation runs (default 20,000, at most 100,000). */
  maxAggregationRuns?: number;
}

export interface SchedulerApi {
  getPolicy(workspaceId: string): Promise<SchedulingPolicy>;
  setPolicy(workspaceId: string, policy: SchedulingPolicy): Promise<SchedulingPolicy>;
  /** Simulates what Start would do on a virtual clock; sends nothing and changes nothing. */
  dryRun(workspaceId: string, campaignId: string, options: DryRunOptions): Promise<DryRunView>;
}

/** DI tokens: one implementation in process, one over gRPC. */
export const CAMPAIGNS_API = Symbol('CAMPAIGNS_API');
export const INGESTION_API = Symbol('INGESTION_API');
export const STRATEGIES_API = Symbol('STRATEGIES_API');
export const DISPATCH_API = Symbol('DISPATCH_API');
export const SCHEDULER_API = Symbol('SCHEDULER_API');
