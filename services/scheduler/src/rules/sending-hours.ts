import { instantOf, localTime, nextDay } from './local-time';

/**
 * Allowed sending hours of a stage (`stage.settings.sendingHours`), in the
 * contact's time zone: `{ from: "09:00", to: "20:00", days: [1, 2, 3, 4, 5] }`.
 * `days` are ISO weekdays (1 = Monday ... 7 = Sunday), all days when absent.
 * `from` later than `to` is an overnight range (22:00-06:00); a day in
 * `days` is the local calendar day of the moment being checked.
 */
export interface SendingHours {
  readonly from: number; // minutes since midnight
  readonly to: number;
  readonly days: readonly number[];
  /** As written, for messages. */
  readonly text: string;
}

export class SendingHoursError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DAY_NAMES = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Reads and validates the setting; null when the stage has none. Throws SendingHoursError naming the field. */
export function parseSendingHours(settings: Readonly<Record<string, unknown>> | undefined, field = 'settings.sendingHours'): SendingHours | null {
  const raw = settings?.sendingHours;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new SendingHoursError(field, 'must be an object like {"from": "09:00", "to": "20:00", "days": [1,2,3,4,5]}');
  const r = raw as Record<string, unknown>;
  const time = (key: 'from' | 'to') => {
    const v = r[key];
    const m = typeof v === 'string' ? HHMM.exec(v) : null;
    if (!m) throw new SendingHoursError(`${field}.${key}`, `must be a time "HH:MM" (24 h), got ${JSON.stringify(v ?? null)}`);
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const from = time('from');
  const to = time('to');
  if (from === to) throw new SendingHoursError(`${field}.to`, 'must differ from "from" (omit sendingHours to allow every hour)');
  let days = [1, 2, 3, 4, 5, 6, 7];
  if (r.days !== undefined) {
    if (!Array.isArray(r.days) || r.days.length === 0 || !r.days.every((d) => Number.isInteger(d) && d >= 1 && d <= 7)) {
      throw new SendingHoursError(`${field}.days`, 'must be a non-empty list of ISO weekdays, 1 (Monday) to 7 (Sunday)');
    }
    days = [...new Set(r.days as number[])].sort();
  }
  const hm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  const dayText = days.length === 7 ? 'every day' : days.map((d) => DAY_NAMES[d]).join(',');
  return { from, to, days, text: `${hm(from)}-${hm(to)} ${dayText}` };
}

function allowedAt(hours: SendingHours, instant: Date, zone: string): boolean {
  const l = localTime(instant, zone);
  if (!hours.days.includes(l.weekday)) return false;
  return hours.from < hours.to ? l.minutes >= hours.from && l.minutes < hours.to : l.minutes >= hours.from || l.minutes < hours.to;
}

/** The earliest instant >= t at which the zone's clock is inside the hours (searches up to 8 days ahead). */
function nextAllowedIn(hours: SendingHours, t: Date, zone: string): Date | null {
  if (allowedAt(hours, t, zone)) return t;
  const l = localTime(t, zone);
  let day = { year: l.year, month: l.month, day: l.day };
  for (let i = 0; i < 9; i++) {
    // Allowed periods start at `from` (and, for an overnight range, at midnight of an allowed day).
    const starts = hours.from < hours.to ? [hours.from] : [0, hours.from];
    for (const m of starts) {
      const at = instantOf(zone, day.year, day.month, day.day, m);
      // The first minute may fall into a DST gap; step to the first allowed minute after it.
      if (at.getTime() >= t.getTime() && allowedAt(hours, at, zone)) return at;
    }
    day = nextDay(day.year, day.month, day.day);
  }
  return null;
}

/**
 * The earliest instant in [t, limit) allowed in every zone (a phone region
 * spanning several zones must be inside the hours in all of them), or null
 * when the hours leave no such instant before the limit.
 */
export function nextAllowed(hours: SendingHours, t: Date, zones: readonly string[], limit: Date): Date | null {
  let at = t;
  for (let i = 0; i < 500 && at < limit; i++) {
    let moved = false;
    for (const zone of zones) {
      const next = nextAllowedIn(hours, at, zone);
      if (!next) return null;
      if (next.getTime() !== at.getTime()) {
        at = next;
        moved = true;
        break;
      }
    }
    if (!moved) return at;
  }
  return null;
}
