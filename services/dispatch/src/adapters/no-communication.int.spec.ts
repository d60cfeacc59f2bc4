import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@herald/testing';
import { rebuild } from '@herald/contact-model';
import { randomUUID } from 'node:crypto';
import { DispatchFixture } from '../testing/dispatch-fixture.spec';

// Real PostgreSQL and the embedded bus: the No Communication channel, reached through the dispatch consumer. No provider is involved (nor configured).
describe('No Communication: a terminal stage that completes at once without contact', () => {
  let f: DispatchFixture;
  let campaignId: string;

  before(async () => {
    f = await DispatchFixture.create();
    campaignId = await f.campaign([
      { name: 'Done', description: 'd', channel: 'no_communication', agent: null, settings: {} },
      // A hold-out arm: the experimental group gets no message at all.
      { name: 'Test', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 's', template: 't' }, variants: [
        { label: 'mail', group: 'control', weight: 1, channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 's', template: 't' } },
        { label: 'holdout', group: 'experimental', weight: 1, channel: 'no_communication', agent: null, settings: {} },
      ] },
    ]);
  });
  after(() => f.close());

  const commIdOf = (e: { data: unknown }) => (e.data as { communicationId: string }).communicationId;

  it('starts again a request whose dispatcher died while it was in progress (nothing was sent to anyone), where a real channel would end it as an unknown delivery', async () => {
    const stale = async (channel: string) => {
      const communicationId = randomUUID();
      // The ledger row a dispatcher killed -9 between its claim and its outcome leaves, its heartbeat long stopped.
      await f.db.pool.query(`insert into dispatch_send_ledger (communication_id, workspace_id, channel, state, updated_at) values ($1, $2, $3, 'sending', now() - interval '1 hour')`,
        [communicationId, f.ws, channel]);
      return communicationId;
    };
    const again = await f.started(campaignId, 'Done', 'no_communication', { email: 'ann@example.com' }, { communicationId: await stale('no_communication') });
    const ends = await eventually(async () => ((await f.ends(again.streamId)).length ? f.ends(again.streamId) : undefined), { what: 'the end' });
    assert.deepEqual(ends.map((e) => [e.status, e.sessionStatus]), [['COMPLETED', 'NO_COMMUNICATION']]);
    const mail = await f.started(campaignId, 'Test', 'email_notification', { email: 'bob@example.com' }, { variant: 'mail', communicationId: await stale('email_notification') });
    const mailEnds = await eventually(async () => ((await f.ends(mail.streamId)).length ? f.ends(mail.streamId) : undefined), { what: 'the end' });
    assert.deepEqual(mailEnds.map((e) => [e.status, e.sessionStatus]), [['ERROR', 'UNKNOWN']]);
  });

  it('ends the communication COMPLETED as soon as its request is consumed, opening no session and sending nothing', async () => {
    const start = await f.started(campaignId, 'Done', 'no_communication', { email: 'ann@example.com', phone: '+15550001' });
    const ends = await eventually(async () => ((await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined), { what: 'the end' });
    assert.deepEqual(ends, [{ communicationId: commIdOf(start), status: 'COMPLETED', sessionStatus: 'NO_COMMUNICATION', result: null, sessionResults: null, finishedAt: ends[0].finishedAt }]);
    assert.ok(Date.parse(String(ends[0].finishedAt)) >= Date.parse((start.data as { startedAt: string }).startedAt));
    assert.deepEqual(await f.events(start.streamId, 'SessionMessageAdded'), []);
    assert.deepEqual(await f.events(start.streamId, 'CommunicationUpdated'), [], 'no session id on the communication');
    assert.equal(await f.rt.sessions.byCommunication(commIdOf(start)), null);
    const { rows } = await f.db.pool.query(`SELECT state, channel FROM dispatch_send_ledger WHERE communication_id = $1`, [commIdOf(start)]);
    assert.deepEqual(rows, [{ state: 'sent', channel: 'no_communication' }]);
    // A redelivery changes nothing.
    await f.rt.handler.handle(start);
    assert.equal((await f.ends(start.streamId)).length, 1);
  });

  it('serves a hold-out A/B arm: the variant the scheduler chose is kept and the contact is not reached', async () => {
    const start = await f.started(campaignId, 'Test', 'no_communication', { email: 'bob@example.com' }, { variant: 'holdout' });
    const [end] = await eventually(async () => ((await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined), { what: 'the end' });
    assert.deepEqual([end.status, end.sessionStatus], ['COMPLETED', 'NO_COMMUNICATION']);
    const [communication] = rebuild(await f.events(start.streamId))!.communications;
    assert.deepEqual([communication.status, communication.variant, communication.stageName], ['COMPLETED', 'holdout', 'Test']);
    assert.equal((await f.rt.integrations.list(f.ws)).length, 0, 'no integration exists to send through');
  });
});
