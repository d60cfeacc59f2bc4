import type { CampaignState, StageDefinition } from '@herald/campaign-model';
import { contactZones } from './contact-zones';
import { nextAllowed, parseSendingHours, SendingHoursError } from './sending-hours';
import { chooseChannel, type ChosenChannel } from './variants';

/** A communication planned without an end date may start until this long after its start date, unless the campaign says otherwise. */
export const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;
export const MISSED_WINDOW = 'Missed: the planned window had passed';

/** What firing needs of a campaign, read from its stream at firing time. */
export interface CampaignRules {
  readonly campaignId: string;
  /** RUNNING: started, not stopped, finished, failed or deleted. */
  readonly runnable: boolean;
  readonly stages: ReadonlyMap<string, StageDefinition>;
  readonly defaultWindowMs: number;
  readonly defaultTimezone: string | null;
  readonly hasAggregation: boolean;
  /** Revision of the campaign stream the rules were read at (the append is guarded by it). */
  readonly revision: number;
}

/** Campaign settings are optional everywhere; these accessors apply the defaults. */
type WithSettings = CampaignState & { settings?: { defaultWindowMinutes?: unknown; defaultTimezone?: unknown }; error?: string | null; deleted?: boolean };

/** `settings.defaultWindowMinutes` when it is a positive number, else 24 h. */
export function defaultWindowMs(state: CampaignState | null): number {
  const minutes = (state as WithSettings | null)?.settings?.defaultWindowMinutes;
  return typeof minutes === 'number' && Number.isFinite(minutes) && minutes > 0 ? minutes * 60_000 : DEFAULT_WINDOW_MS;
}

export function campaignRules(state: CampaignState | null, campaignId: string): CampaignRules {
  const s = state as WithSettings | null;
  const tz = s?.settings?.defaultTimezone;
  return {
    campaignId,
    runnable: Boolean(s && s.running && !s.finished && !s.error && !s.deleted),
    stages: new Map((s?.stages ?? []).map((st) => [st.name, st])),
    defaultWindowMs: defaultWindowMs(state),
    defaultTimezone: typeof tz === 'string' ? tz : null,
    hasAggregation: Boolean(s?.strategies.some((x) => x.type === 'AGGREGATION')),
    revision: s?.revision ?? -1,
  };
}

export interface FiringInput {
  readonly communicationId: string;
  readonly stageName: string;
  readonly startDate: Date;
  readonly endDate: Date | null;
  readonly contact: { readonly phone: string | null; readonly timezone?: string | null; readonly parameters?: Readonly<Record<string, unknown>> | null };
}

export type Decision =
  | ({ readonly kind: 'start'; readonly windowEnd: Date } & ChosenChannel)
  | { readonly kind: 'missed'; readonly reason: string }
  | { readonly kind: 'error'; readonly reason: string }
  /** Not now: look again at `until` (sending hours, caps, rate limits, a later start date). */
  | { readonly kind: 'defer'; readonly until: Date; readonly reason: string | null };

export function windowEndOf(input: Pick<FiringInput, 'startDate' | 'endDate'>, rules: Pick<CampaignRules, 'defaultWindowMs'>): Date {
  return input.endDate ?? new Date(input.startDate.getTime() + rules.defaultWindowMs);
}

/**
 * The scheduler's rule for one due communication of a running campaign:
 * start when start_date <= now < end_date and the stage's sending hours allow
 * it in the contact's zone; wait when the hours open later inside the window;
 * MISSED when the window has passed or the hours leave no time in it. Never
 * late. Frequency caps and rate limits are applied afterwards (limits.ts).
 */
export function decideFiring(input: FiringInput, rules: CampaignRules, now: Date): Decision {
  if (now < input.startDate) return { kind: 'defer', until: input.startDate, reason: null };
  const windowEnd = windowEndOf(input, rules);
  if (now >= windowEnd) return { kind: 'missed', reason: MISSED_WINDOW };
  const stage = rules.stages.get(input.stageName);
  if (!stage) return { kind: 'error', reason: `Stage "${input.stageName}" does not exist in the campaign` };
  let hours;
  try {
    hours = parseSendingHours(stage.settings);
  } catch (error) {
    if (!(error instanceof SendingHoursError)) throw error;
    return { kind: 'error', reason: `Stage "${stage.name}" ${error.message}` };
  }
  if (hours) {
    const zones = contactZones(input.contact, rules.defaultTimezone);
    const at = nextAllowed(hours, now, zones.zones, windowEnd);
    const where = zones.zones.length === 1 ? zones.zones[0] : `${zones.zones.length} zones of the ${zones.source}`;
    if (!at) return { kind: 'missed', reason: `Missed: the sending hours ${hours.text} (${where}) leave no time before the window closes` };
    if (at > now) return { kind: 'defer', until: at, reason: `sending hours ${hours.text} (${where})` };
  }
  return { kind: 'start', windowEnd, ...chooseChannel(stage, input.communicationId) };
}
