import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '@herald/contracts';
import type { StageDefinition } from '@herald/campaign-model';
import { nextAllowed, parseSendingHours, SendingHoursError } from './sending-hours';
import { contactZones } from './contact-zones';
import { decideFiring, MISSED_WINDOW, type CampaignRules } from './decide-firing';
import { CapCounter, TokenBucket } from './limits';
import { parsePolicy } from './policy';
import { chooseChannel } from './variants';

const at = (iso: string) => new Date(iso);
const stage = (settings: Record<string, unknown> = {}, extra: Partial<StageDefinition> = {}): StageDefinition =>
  ({ id: 's', name: 'Reminder', description: 'd', channel: 'email_notification', agent: null, settings, ...extra });
const rules = (s: StageDefinition = stage(), extra: Partial<CampaignRules> = {}): CampaignRules => ({
  campaignId: 'c', runnable: true, stages: new Map([[s.name, s]]), defaultWindowMs: 3_600_000, defaultTimezone: null, hasAggregation: false, revision: 3, ...extra,
});
const comm = (start: string, end: string | null, contact: { phone: string | null; timezone?: string | null } = { phone: null }) =>
  ({ communicationId: 'comm-1', stageName: 'Reminder', startDate: at(start), endDate: end ? at(end) : null, contact });

describe('sending hours in the contact\'s time zone', () => {
  const weekdays = parseSendingHours({ sendingHours: { from: '09:00', to: '20:00', days: [1, 2, 3, 4, 5] } })!;

  it('validates the setting and names the field', () => {
    assert.equal(parseSendingHours({}), null);
    assert.throws(() => parseSendingHours({ sendingHours: { from: '9', to: '20:00' } }), (e: unknown) => e instanceof SendingHoursError && e.field === 'settings.sendingHours.from');
    assert.throws(() => parseSendingHours({ sendingHours: { from: '09:00', to: '09:00' } }), (e: unknown) => e instanceof SendingHoursError && e.field === 'settings.sendingHours.to');
    assert.throws(() => parseSendingHours({ sendingHours: { from: '09:00', to: '20:00', days: [0] } }), (e: unknown) => e instanceof SendingHoursError && e.field === 'settings.sendingHours.days');
    assert.throws(() => parseSendingHours({ sendingHours: 'always' }), /settings\.sendingHours: must be an object/);
  });

  it('allows now inside the hours, else the next opening in the zone (a Friday night waits for Monday 09:00 Paris)', () => {
    const limit = at('2027-01-31T00:00:00Z');
    assert.deepEqual(nextAllowed(weekdays, at('2027-01-06T10:00:00Z'), ['Europe/Paris'], limit), at('2027-01-06T10:00:00Z'));
    // Friday 2027-01-08 21:30 Paris (UTC+1) -> Monday 2027-01-11 09:00 Paris = 08:00 UTC.
    assert.deepEqual(nextAllowed(weekdays, at('2027-01-08T20:30:00Z'), ['Europe/Paris'], limit), at('2027-01-11T08:00:00Z'));
    // Same instant in New York is 15:30 Friday: allowed.
    assert.deepEqual(nextAllowed(weekdays, at('2027-01-08T20:30:00Z'), ['America/New_York'], limit), at('2027-01-08T20:30:00Z'));
    assert.equal(nextAllowed(weekdays, at('2027-01-08T20:30:00Z'), ['Europe/Paris'], at('2027-01-10T00:00:00Z')), null, 'the window closes before Monday');
  });

  it('follows daylight saving time and overnight ranges', () => {
    // 2027-03-28 Paris moves to UTC+2: Monday 2027-03-29 09:00 local is 07:00 UTC.
    assert.deepEqual(nextAllowed(weekdays, at('2027-03-27T12:00:00Z'), ['Europe/Paris'], at('2027-04-30T00:00:00Z')), at('2027-03-29T07:00:00Z'));
    const night = parseSendingHours({ sendingHours: { from: '22:00', to: '06:00' } })!;
    assert.deepEqual(nextAllowed(night, at('2027-01-06T12:00:00Z'), ['UTC'], at('2027-02-01T00:00:00Z')), at('2027-01-06T22:00:00Z'));
    assert.deepEqual(nextAllowed(night, at('2027-01-07T03:00:00Z'), ['UTC'], at('2027-02-01T00:00:00Z')), at('2027-01-07T03:00:00Z'));
  });

  it('a phone region with several zones must be inside the hours in all of them', () => {
    const daily = parseSendingHours({ sendingHours: { from: '09:00', to: '20:00' } })!;
    const us = contactZones({ phone: '+12025550123' }, null);
    assert.equal(us.source, 'phone region US');
    assert.ok(us.zones.includes('America/New_York') && us.zones.includes('Pacific/Honolulu'));
    // 14:00 UTC (January): 09:00 New York, but 04:00 Honolulu -> wait until 09:00 Honolulu = 19:00 UTC (14:00 New York).
    assert.deepEqual(nextAllowed(daily, at('2027-01-06T14:00:00Z'), us.zones, at('2027-01-08T00:00:00Z')), at('2027-01-06T19:00:00Z'));
  });

  it('picks the zone from the parameter, else the phone, else the campaign default, else UTC', () => {
    assert.deepEqual(contactZones({ phone: '+33612345678', parameters: { TimeZone: 'Asia/Tokyo' } }, 'Europe/Berlin'), { zones: ['Asia/Tokyo'], source: 'parameter timezone' });
    assert.deepEqual(contactZones({ phone: '+33612345678', parameters: { timezone: 'Mars/Olympus' } }, null), { zones: ['Europe/Paris'], source: 'phone region FR' });
    assert.deepEqual(contactZones({ phone: null }, 'Europe/Berlin'), { zones: ['Europe/Berlin'], source: 'campaign default' });
    assert.deepEqual(contactZones({ phone: '12345' }, 'Not/AZone'), { zones: ['UTC'], source: 'UTC (no zone known)' });
  });
});

describe('the firing decision', () => {
  it('starts inside the window, waits before it, misses after it (never late)', () => {
    const r = rules();
    assert.equal(decideFiring(comm('2027-01-06T10:00:00Z', '2027-01-06T11:00:00Z'), r, at('2027-01-06T10:30:00Z')).kind, 'start');
    assert.deepEqual(decideFiring(comm('2027-01-06T10:00:00Z', '2027-01-06T11:00:00Z'), r, at('2027-01-06T09:00:00Z')), { kind: 'defer', until: at('2027-01-06T10:00:00Z'), reason: null });
    assert.deepEqual(decideFiring(comm('2027-01-06T10:00:00Z', '2027-01-06T11:00:00Z'), r, at('2027-01-06T11:00:00Z')), { kind: 'missed', reason: MISSED_WINDOW });
  });

  it('uses the campaign default window when the plan has no end', () => {
    const r = rules(stage(), { defaultWindowMs: 30 * 60_000 });
    assert.equal(decideFiring(comm('2027-01-06T10:00:00Z', null), r, at('2027-01-06T10:29:00Z')).kind, 'start');
    assert.equal(decideFiring(comm('2027-01-06T10:00:00Z', null), r, at('2027-01-06T10:30:00Z')).kind, 'missed');
  });

  it('shifts a start into the sending hours within its window, or misses it when the window closes first', () => {
    const r = rules(stage({ sendingHours: { from: '09:00', to: '20:00' } }));
    const paris = { phone: '+33612345678' };
    const shifted = decideFiring(comm('2027-01-06T05:00:00Z', '2027-01-06T12:00:00Z', paris), r, at('2027-01-06T05:00:00Z'));
    assert.deepEqual(shifted, { kind: 'defer', until: at('2027-01-06T08:00:00Z'), reason: 'sending hours 09:00-20:00 every day (Europe/Paris)' });
    const missed = decideFiring(comm('2027-01-06T05:00:00Z', '2027-01-06T07:00:00Z', paris), r, at('2027-01-06T05:00:00Z'));
    assert.equal(missed.kind, 'missed');
    assert.match((missed as { reason: string }).reason, /sending hours 09:00-20:00 every day \(Europe\/Paris\) leave no time/);
  });

  it('ends with ERROR naming the field when the stage is gone or its hours are invalid', () => {
    const bad = decideFiring(comm('2027-01-06T10:00:00Z', null), rules(stage({ sendingHours: { from: '25:00', to: '20:00' } })), at('2027-01-06T10:00:00Z'));
    assert.deepEqual(bad.kind, 'error');
    assert.match((bad as { reason: string }).reason, /Stage "Reminder" settings\.sendingHours\.from: must be a time/);
    const gone = decideFiring({ ...comm('2027-01-06T10:00:00Z', null), stageName: 'Gone' }, rules(), at('2027-01-06T10:00:00Z'));
    assert.deepEqual(gone, { kind: 'error', reason: 'Stage "Gone" does not exist in the campaign' });
  });

  it('picks an A/B variant by weight, the same one every time for a communication', () => {
    const s = stage({}, { variants: [
      { label: 'A', group: 'control', weight: 1, channel: 'email_notification', agent: null, settings: {} },
      { label: 'B', group: 'experimental', weight: 3, channel: 'whatsapp', agent: 'bot', settings: {} },
    ] });
    const picks = Array.from({ length: 2000 }, (_, i) => chooseChannel(s, `comm-${i}`));
    const b = picks.filter((p) => p.variant === 'B');
    assert.ok(b.length > 1300 && b.length < 1700, `about three quarters B, got ${b.length}`);
    assert.ok(b.every((p) => p.channel === 'whatsapp' && p.agent === 'bot'));
    assert.deepEqual(chooseChannel(s, 'comm-7'), chooseChannel(s, 'comm-7'));
    assert.deepEqual(chooseChannel(stage(), 'x'), { channel: 'email_notification', agent: null, variant: null });
  });
});

describe('frequency cap, rate limits and the policy', () => {
  it('the cap blocks a person until the oldest start ages out of the rolling period', () => {
    const cap = new CapCounter({ maxStarts: 2, perHours: 24 });
    const t0 = at('2027-01-06T10:00:00Z');
    cap.record(['e:a@x'], t0);
    assert.equal(cap.blockedUntil(['e:a@x'], t0), null);
    cap.record(['e:a@x'], at('2027-01-06T11:00:00Z'));
    assert.deepEqual(cap.blockedUntil(['e:a@x', 'p:+331'], at('2027-01-06T12:00:00Z')), at('2027-01-07T10:00:00Z'));
    assert.equal(cap.blockedUntil(['p:+331'], at('2027-01-06T12:00:00Z')), null, 'another person');
    assert.equal(cap.blockedUntil(['e:a@x'], at('2027-01-07T10:00:01Z')), null);
  });

  it('the token bucket hands out its burst, then a later slot to each waiting start (none dropped)', () => {
    const now = at('2027-01-06T10:00:00Z');
    const bucket = TokenBucket.full(120, now.getTime()); // 2 per second, burst 2
    const got = Array.from({ length: 5 }, () => bucket.take(now));
    assert.deepEqual(got.slice(0, 2), [true, true]);
    assert.deepEqual(got.slice(2).map((d) => (d as Date).getTime() - now.getTime()), [500, 1000, 1500]);
  });

  it('validates a policy from outside and names the field', () => {
    assert.deepEqual(parsePolicy({ frequencyCap: { maxStarts: 2 }, rateLimits: { whatsapp: { perMinute: 30 } } }), { frequencyCap: { maxStarts: 2, perHours: 24 }, rateLimits: { whatsapp: { perMinute: 30 } } });
    const field = (input: unknown) => { try { parsePolicy(input); return null; } catch (e) { assert.ok(e instanceof DomainError); return e.field; } };
    assert.equal(field([]), 'policy');
    assert.equal(field({ frequencyCap: { maxStarts: 0 } }), 'frequencyCap.maxStarts');
    assert.equal(field({ frequencyCap: { maxStarts: 1, perHours: 1000 } }), 'frequencyCap.perHours');
    assert.equal(field({ rateLimits: { fax: { perMinute: 1 } } }), 'rateLimits.fax');
    assert.equal(field({ rateLimits: { sip: { perMinute: -1 } } }), 'rateLimits.sip.perMinute');
    assert.equal(field({ quietHours: true }), 'quietHours');
  });
});
