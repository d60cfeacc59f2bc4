import type { RecordedEvent } from '@herald/contracts';
import type { AnalyticsDefinition, CampaignEvent, CampaignSettings, ResultDefinition, StageDefinition, StrategyDefinition } from './events';

export const CAMPAIGN_STATUSES = ['CREATED', 'CONFIGURED', 'RUNNING', 'STOPPED', 'FINISHED', 'ERROR'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export interface CampaignState {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly description: string;
  readonly labels: readonly string[];
  readonly stages: readonly StageDefinition[];
  readonly strategies: readonly StrategyDefinition[];
  readonly contactCount: number;
  readonly activeUploadId: string | null;
  /**
   * Contacts the active upload has created so far (its last
   * ContactsUploadProgressed), already counted in contactCount; its
   * completion adds only the rest.
   */
  readonly uploadCreated: number;
  readonly running: boolean;
  readonly startedOnce: boolean;
  readonly finished: boolean;
  /** Set by CampaignFailed (status ERROR) until a force stop. */
  readonly error: string | null;
  readonly deleted: boolean;
  readonly settings: CampaignSettings;
  readonly analytics: AnalyticsDefinition | null;
  readonly resultDefinitions: readonly ResultDefinition[];
  readonly createdAt: string;
  readonly revision: number;
}

export function evolve(state: CampaignState | null, recorded: RecordedEvent): CampaignState {
  const event = recorded as RecordedEvent<CampaignEvent>;
  if (event.type === 'CampaignCreated') {
    const d = event.data;
    return {
      id: d.campaignId, workspaceId: event.metadata.workspaceId, name: d.name, description: d.description, labels: d.labels,
      stages: [], strategies: [], contactCount: 0, activeUploadId: null, uploadCreated: 0, running: false, startedOnce: false, finished: false,
      error: null, deleted: false, settings: {}, analytics: null, resultDefinitions: [],
      createdAt: event.metadata.timestamp, revision: recorded.revision,
    };
  }
  if (!state) throw new Error(`campaign stream must start with CampaignCreated, got ${event.type}`);
  const s = { ...state, revision: recorded.revision };
  switch (event.type) {
    case 'StageAdded':
      return { ...s, stages: [...s.stages, event.data.stage] };
    case 'StrategyAdded':
      return { ...s, strategies: [...s.strategies, event.data.strategy] };
    case 'StrategyFileReplaced': {
      const d = event.data;
      return { ...s, strategies: s.strategies.map((x) => (x.id === d.strategyId ? { ...x, code: d.code, fileName: d.fileName, version: d.version } : x)) };
    }
    case 'ContactsUploadStarted':
      return { ...s, activeUploadId: event.data.uploadId, uploadCreated: 0 };
    case 'ContactsUploadProgressed': {
      if (event.data.uploadId !== s.activeUploadId || event.data.created <= s.uploadCreated) return s;
      return { ...s, contactCount: s.contactCount + event.data.created - s.uploadCreated, uploadCreated: event.data.created };
    }
    case 'ContactsUploadCompleted': {
      const counted = event.data.uploadId === s.activeUploadId ? s.uploadCreated : 0;
      return { ...s, activeUploadId: null, uploadCreated: 0, contactCount: s.contactCount + Math.max(0, event.data.created - counted) };
    }
    case 'CampaignStarted':
      return { ...s, running: true, startedOnce: true, finished: false };
    case 'CampaignStopped':
      return { ...s, running: false };
    case 'CampaignFinished':
      return { ...s, running: false, finished: true };
    case 'CampaignDetailsChanged':
      return { ...s, ...event.data };
    case 'CampaignDeleted':
      return { ...s, running: false, deleted: true };
    case 'StageUpdated':
      return { ...s, stages: s.stages.map((x) => (x.id === event.data.stage.id ? event.data.stage : x)) };
    case 'StageRemoved':
      return { ...s, stages: s.stages.filter((x) => x.id !== event.data.stageId) };
    case 'StrategyUpdated': {
      const { strategyId, ...changes } = event.data;
      return { ...s, strategies: s.strategies.map((x) => (x.id === strategyId ? { ...x, ...changes } : x)) };
    }
    case 'StrategyRemoved':
      return { ...s, strategies: s.strategies.filter((x) => x.id !== event.data.strategyId) };
    case 'CampaignSettingsChanged':
      return { ...s, settings: event.data.settings };
    case 'AnalyticsUploaded':
      return { ...s, analytics: event.data.analytics };
    case 'ResultDefinitionsChanged':
      return { ...s, resultDefinitions: event.data.definitions };
    case 'CampaignFailed':
      return { ...s, error: event.data.message };
    case 'CampaignForceStopped':
      return { ...s, running: false, error: null };
    default: {
      const unknown: never = event;
      throw new Error(`unknown campaign event ${(unknown as { type: string }).type}`);
    }
  }
}

export function rebuild(events: readonly RecordedEvent[]): CampaignState | null {
  return events.reduce<CampaignState | null>((s, e) => evolve(s, e), null);
}

/** Status as the seeds define it, with the message shown on hover. */
export function statusOf(state: CampaignState): { status: CampaignStatus; message: string } {
  if (state.error) return { status: 'ERROR', message: state.error };
  if (state.finished) return { status: 'FINISHED', message: 'Every planned communication has been carried out or missed: nothing is left to send.' };
  if (state.running) return { status: 'RUNNING', message: 'The campaign is processing contacts and sending communications.' };
  if (state.startedOnce) return { status: 'STOPPED', message: 'The campaign was stopped. Processing is paused; click Start to resume.' };
  const missing = missingForConfigured(state);
  if (missing.length === 0) return { status: 'CONFIGURED', message: 'The campaign has contacts and a Data Load strategy and is ready to start.' };
  return { status: 'CREATED', message: `The campaign is not ready to run: ${missing.join(' and ')} missing.` };
}

/** Campaign results every campaign has, before its own definitions. */
export const BUILT_IN_RESULTS: readonly ResultDefinition[] = [
  { code: 'ResultFlag', name: 'Result flag', description: 'True when the campaign reached its goal for the contact, false when it did not, null while undetermined.' },
  { code: 'ResultDatetime', name: 'Result date and time', description: 'When ResultFlag was last set to true or false; null while undetermined.' },
];

export const DEFAULT_WINDOW_MINUTES = 24 * 60;
export const DEFAULT_STRATEGY_TIMEOUT_SECONDS = 5;

export function missingForConfigured(state: CampaignState): string[] {
  const missing: string[] = [];
  if (state.contactCount === 0) missing.push('contacts are');
  if (!state.strategies.some((s) => s.type === 'DATA_LOAD')) missing.push('a Data Load strategy is');
  return missing;
}
