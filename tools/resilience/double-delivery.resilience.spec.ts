import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dispatchRequestsTopic, TOPICS } from '@herald/contracts';
import { startSmtpServer } from '@herald/testing';
import { groupLag, readTopic, startPlatform, type Platform } from './platform';
import { reportCase, since } from './report';
import { checkEmailCampaign, startEmailCampaign } from './scenario';

/*
 * Issue 9, point 8: every message delivered twice. Every process runs with
 * HERALD_FAULT_RELAY_PUBLISH_TWICE=1, so whichever relay leads publishes each
 * batch twice and every consumer group (read models, scheduler, dispatch,
 * Aggregation) receives every event twice. The campaign must end exactly as a
 * single delivery ends it: one email per contact, one communication each,
 * a send ledger of one `sent` row per communication, read models equal to
 * their rebuild from the log (each event applied once).
 */
const CONTACTS = 40;

describe('resilience: every message delivered twice', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let platform: Platform;

  before(async () => {
    smtp = await startSmtpServer();
    platform = await startPlatform({ prefix: 'herald_res_twice', env: { HERALD_FAULT_RELAY_PUBLISH_TWICE: '1' } });
  });
  after(async () => {
    await platform?.stop();
    await smtp?.close();
  });

  it('ends a campaign exactly as a single delivery does', { timeout: 600_000 }, async (t) => {
    const started = Date.now();
    try {
      const id = await startEmailCampaign(platform.base, smtp.port, CONTACTS, 5);
      const outcome = await checkEmailCampaign(platform.base, platform.db.pool, id, CONTACTS, smtp.received,
        () => groupLag(`${platform.topicPrefix}dispatch.senders`, `${platform.topicPrefix}${dispatchRequestsTopic('email_notification')}`));

      // The fault really happened: every message is on its topic (at least) twice.
      let messages = 0;
      let once = 0;
      for (const topic of [TOPICS.campaignEvents, TOPICS.contactEvents, dispatchRequestsTopic('email_notification')]) {
        const seen = new Map<string, number>();
        for (const m of await readTopic(platform.topicPrefix + topic)) seen.set(m.eventId, (seen.get(m.eventId) ?? 0) + 1);
        assert.ok(seen.size > 0, `${topic} has messages`);
        once += [...seen.values()].filter((n) => n < 2).length;
        messages += [...seen.values()].reduce((a, b) => a + b, 0);
      }
      assert.equal(once, 0, 'no message was delivered only once');

      reportCase({
        point: 8, name: 'every message delivered twice', faults: messages / 2, checked: CONTACTS, lost: outcome.missingEmails,
        duplicates: outcome.extraEmails + outcome.extraEvents, ms: since(started),
        notes: `${messages} messages for ${messages / 2} events; ${smtp.received.length} emails, ledger and read models as for one delivery`,
      });
    } catch (error) {
      t.diagnostic(platform.logs());
      throw error;
    }
  });
});
