import { TOPICS } from '@herald/contracts';

/** What the scheduler consumes: campaign state (running or not) and the contacts' communications. */
export const SCHEDULER_TOPICS = [TOPICS.campaignEvents, TOPICS.contactEvents] as const;

export { ensureSchedulerSchema, SCHEDULER_SCHEMA, WAKE_CHANNEL } from './schema';
export { createSchedulerProjection, createSchedulerProjectionMany, projectSchedulerEvent, projectSchedulerMany, identitiesOf } from './projection';
export { TimerLoop, CLAIM_TIMEOUT_MS, type TimerLoopOptions } from './timer-loop';
export { CampaignFinisher, AGGREGATION_GROUP } from './finisher';
export { DEFAULT_WINDOW_MS, MISSED_WINDOW, decideFiring, campaignRules, defaultWindowMs, windowEndOf } from './rules/decide-firing';
