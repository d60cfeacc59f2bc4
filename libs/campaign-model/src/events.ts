import type { Event } from '@herald/contracts';
import type { Channel } from './channels';

export const STRATEGY_TYPES = ['DATA_LOAD', 'AGGREGATION', 'INTERMEDIATE_ANALYSIS'] as const;
export type StrategyType = (typeof STRATEGY_TYPES)[number];

/**
 * One arm of an A/B test ("alternative stage settings" in the seeds): its own
 * channel, agent and channel settings, chosen by weight at dispatch time. The
 * stage's own channel and settings are the Control group's default.
 */
export interface StageVariant {
  readonly label: string;
  readonly group: 'control' | 'experimental';
  readonly weight: number;
  readonly channel: Channel;
  readonly agent: string | null;
  readonly settings: Readonly<Record<string, unknown>>;
}

export interface StageDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly channel: Channel;
  readonly agent: string | null;
  readonly settings: Readonly<Record<string, unknown>>;
  /** A/B testing: when present, dispatch picks one variant by weight and records its label on the communication. */
  readonly variants?: readonly StageVariant[];
}

export interface StrategyDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly type: StrategyType;
  readonly functionName: string;
  readonly fileName: string;
  readonly code: string;
  readonly version: number;
}

/** A campaign result field (Settings > Campaign Results); ResultFlag and ResultDatetime are built in. */
export interface ResultDefinition {
  readonly code: string;
  readonly name: string;
  readonly description: string;
}

/** Campaign settings; every field optional, defaults applied where read. */
export interface CampaignSettings {
  /** The language-model integration the campaign uses (LLM Settings). */
  readonly llmIntegration?: string | null;
  /** A communication planned without an end date may start until this long after its start (default 1440). */
  readonly defaultWindowMinutes?: number;
  /** Wall-time limit per strategy call (default 5). */
  readonly strategyTimeoutSeconds?: number;
  /** IANA time zone for contacts whose own is unknown (default UTC). */
  readonly defaultTimezone?: string;
  /** Host names strategies may call over the network (default none). */
  readonly egressAllowlist?: readonly string[];
}

export interface AnalyticsDefinition {
  readonly fileName: string;
  readonly yaml: string;
  readonly version: number;
}

/** Every event of a `campaign-<id>` stream. Type strings are a stored contract. */
export type CampaignEvent =
  | Event<'CampaignCreated', { campaignId: string; name: string; description: string; labels: string[] }>
  | Event<'StageAdded', { stage: StageDefinition }>
  | Event<'StrategyAdded', { strategy: StrategyDefinition }>
  | Event<'StrategyFileReplaced', { strategyId: string; fileName: string; code: string; version: number }>
  | Event<'ContactsUploadStarted', { uploadId: string; fileName: string }>
  /** A running total while an upload is imported: the contacts it has created so far (at most one event every few seconds). */
  | Event<'ContactsUploadProgressed', { uploadId: string; created: number }>
  | Event<'ContactsUploadCompleted', { uploadId: string; rowsRead: number; imported: number; created: number; rejected: number }>
  | Event<'CampaignStarted', Record<string, never>>
  | Event<'CampaignStopped', Record<string, never>>
  | Event<'CampaignDetailsChanged', { name?: string; description?: string; labels?: string[] }>
  | Event<'CampaignDeleted', Record<string, never>>
  | Event<'StageUpdated', { stage: StageDefinition }>
  | Event<'StageRemoved', { stageId: string }>
  | Event<'StrategyUpdated', { strategyId: string; name?: string; description?: string; functionName?: string }>
  | Event<'StrategyRemoved', { strategyId: string }>
  | Event<'CampaignSettingsChanged', { settings: CampaignSettings }>
  | Event<'AnalyticsUploaded', { analytics: AnalyticsDefinition }>
  | Event<'ResultDefinitionsChanged', { definitions: ResultDefinition[] }>
  /** The campaign cannot proceed (status ERROR); only Force stop gets it out. */
  | Event<'CampaignFailed', { message: string }>
  | Event<'CampaignForceStopped', Record<string, never>>
  /** No contact has a PLANNED or STARTED communication any more (appended by the scheduler). */
  | Event<'CampaignFinished', Record<string, never>>;

export type CampaignEventType = CampaignEvent['type'];
export type CampaignChange = { [T in CampaignEventType]: { type: T; data: Extract<CampaignEvent, { type: T }>['data'] } }[CampaignEventType];
