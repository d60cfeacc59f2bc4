import { invalid, type SchedulingPolicy } from '@herald/contracts';
import { CHANNEL_IDS } from '@herald/campaign-model';

export const EMPTY_POLICY: SchedulingPolicy = { frequencyCap: null, rateLimits: {} };

/** The longest rolling period a frequency cap may use; start records older than this are pruned. */
export const MAX_CAP_HOURS = 24 * 7;

/** Validates a workspace policy from the outside world; every error names its field. */
export function parsePolicy(input: unknown): SchedulingPolicy {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw invalid('policy', 'must be an object with frequencyCap and rateLimits');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (key !== 'frequencyCap' && key !== 'rateLimits') throw invalid(key, 'is not a policy field (frequencyCap, rateLimits)');
  }
  let frequencyCap: SchedulingPolicy['frequencyCap'] = null;
  if (raw.frequencyCap !== undefined && raw.frequencyCap !== null) {
    const c = raw.frequencyCap as Record<string, unknown>;
    if (typeof c !== 'object' || Array.isArray(c)) throw invalid('frequencyCap', 'must be an object {maxStarts, perHours} or null');
    if (!Number.isInteger(c.maxStarts) || (c.maxStarts as number) < 1 || (c.maxStarts as number) > 10_000) {
      throw invalid('frequencyCap.maxStarts', 'must be a whole number from 1 to 10000');
    }
    const perHours = c.perHours ?? 24;
    if (typeof perHours !== 'number' || !Number.isFinite(perHours) || perHours <= 0 || perHours > MAX_CAP_HOURS) {
      throw invalid('frequencyCap.perHours', `must be a number of hours above 0 and at most ${MAX_CAP_HOURS}`);
    }
    for (const key of Object.keys(c)) if (key !== 'maxStarts' && key !== 'perHours') throw invalid(`frequencyCap.${key}`, 'is not a field (maxStarts, perHours)');
    frequencyCap = { maxStarts: c.maxStarts as number, perHours };
  }
  const rateLimits: Record<string, { perMinute: number }> = {};
  if (raw.rateLimits !== undefined && raw.rateLimits !== null) {
    if (typeof raw.rateLimits !== 'object' || Array.isArray(raw.rateLimits)) throw invalid('rateLimits', 'must be an object keyed by channel, e.g. {"email_notification": {"perMinute": 600}}');
    for (const [channel, limit] of Object.entries(raw.rateLimits as Record<string, unknown>)) {
      if (!(CHANNEL_IDS as string[]).includes(channel)) throw invalid(`rateLimits.${channel}`, `unknown channel (one of ${CHANNEL_IDS.join(', ')})`);
      const perMinute = (limit as Record<string, unknown> | null)?.perMinute;
      if (typeof perMinute !== 'number' || !Number.isFinite(perMinute) || perMinute <= 0 || perMinute > 1_000_000) {
        throw invalid(`rateLimits.${channel}.perMinute`, 'must be a number above 0 and at most 1000000');
      }
      rateLimits[channel] = { perMinute };
    }
  }
  return { frequencyCap, rateLimits };
}
