import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limiter';
import { optOutKeyword, normalizeAddress } from '../sessions/opt-outs';
import { pickByWeight } from '../sessions/stage-resolution';

// The schedule the limiter hands out, on a fixed clock (no sleeping, no timing).
describe('provider rate limits', () => {
  it('lets WhatsApp send 80 at once per number, then one every 12.5 ms; other numbers are not held up', () => {
    const l = new RateLimiter();
    const waits = Array.from({ length: 82 }, () => l.reserve('whatsapp:1100', 80, 80, 1_000));
    assert.deepEqual(waits.slice(0, 80), Array(80).fill(0));
    assert.equal(waits[80], 12.5);
    assert.equal(waits[81], 25);
    assert.equal(l.reserve('whatsapp:2200', 80, 80, 1_000), 0);
  });

  it('spaces Telegram messages to one chat a second apart, and a bot at 30 per second', () => {
    const l = new RateLimiter();
    assert.deepEqual([0, 1, 2].map(() => l.reserve('telegram:chat:42', 1, 1, 5_000)), [0, 1000, 2000]);
    const bot = Array.from({ length: 31 }, () => l.reserve('telegram:bot', 30, 30, 5_000));
    assert.equal(bot[29], 0);
    assert.ok(Math.abs(bot[30] - 1000 / 30) < 1e-9);
  });

  it('holds a key back after the provider asked to retry later', () => {
    const l = new RateLimiter();
    const now = Date.now();
    l.pause('twilio:+15550001', 3_000, 1, 1);
    assert.ok(l.reserve('twilio:+15550001', 1, 1, now) >= 2_900);
  });
});

describe('opt-out keywords and addresses', () => {
  it('takes the eight keywords in any case as the whole message', () => {
    for (const w of ['STOP', 'unsubscribe', 'End', 'quit', 'StopAll', 'revoke', 'OPTOUT', 'cancel', ' stop! ', '"Stop."']) assert.ok(optOutKeyword(w), w);
    for (const w of ['please stop calling', 'stopping', 'cancel my order', '', 'end of month']) assert.equal(optOutKeyword(w), null, w);
  });

  it('compares phone numbers by digits and emails without case', () => {
    assert.equal(normalizeAddress('+1 (555) 000-0003'), normalizeAddress('15550000003'));
    assert.equal(normalizeAddress('Ann@Example.COM'), 'ann@example.com');
  });
});

describe('A/B variant pick', () => {
  it('is the same for the same communication and follows the weights', () => {
    const arms = [{ label: 'A', weight: 3 }, { label: 'B', weight: 1 }];
    assert.equal(pickByWeight(arms, 'comm-1'), pickByWeight(arms, 'comm-1'));
    const counts = { A: 0, B: 0 };
    for (let i = 0; i < 4000; i++) counts[pickByWeight(arms, `c-${i}`)!.label as 'A' | 'B']++;
    assert.ok(counts.A > 2700 && counts.A < 3300, JSON.stringify(counts));
    assert.equal(pickByWeight([], 'x'), null);
  });
});
