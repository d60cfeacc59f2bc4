import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn } from '../../testing/dispatch-fixture.spec';

/*
 * Stands in for Infobip's SMS API v2: POST /sms/2/text/advanced with
 * `Authorization: App <key>` answers {bulkId, messages: [{to, messageId,
 * status: {groupName: "PENDING"}}]}; a wrong key answers 401 with a
 * requestError.serviceException. Infobip then POSTs delivery reports and
 * inbound (MO) messages as {results: [...]} to the notify URL, with the
 * HTTP Basic credentials configured on the subscription.
 */
describe('Infobip (SMS API, delivery reports, inbound messages)', () => {
  let f: DispatchFixture;
  let ib: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;

  before(async () => {
    ib = await startStandIn((req, res) => {
      if (req.headers.authorization !== 'App key-1') return sendJson(res, 401, { requestError: { serviceException: { messageId: 'UNAUTHORIZED', text: 'Invalid login details' } } });
      const m = (req.json as { messages: { destinations: { to: string; messageId: string }[] }[] }).messages[0].destinations[0];
      sendJson(res, 200, { bulkId: 'b1', messages: [{ to: m.to, messageId: m.messageId, status: { groupId: 1, groupName: 'PENDING', id: 26, name: 'PENDING_ACCEPTED', description: 'Message sent to next instance' } }] });
    });
    f = await DispatchFixture.create({ publicUrl: 'https://herald.example.com' });
    await f.rt.integrations.configure(f.ws, { name: 'ib', type: 'infobip', config: { baseUrl: ib.url, apiKey: 'key-1', from: 'HeraldBank', webhookSecret: 'ib-secret' } });
    await f.rt.agents.save(f.ws, { name: 'Sms', backend: 'scripted', channels: ['infobip'], integrations: ['ib'],
      scripted: { rules: [{ match: 'yes', reply: 'Thanks!', end: true, results: { OutcomeStatus: 'CONFIRMED' } }], fallback: 'Please answer YES to confirm.' } });
    campaignId = await f.campaign([{ name: 'SMS', description: 'd', channel: 'infobip', agent: 'Sms', settings: { startPhrase: 'Hi {{name}}, confirm your appointment? Reply YES.' } }]);
  });
  after(async () => {
    await f.close();
    await ib.close();
  });

  const basic = (password: string) => `Basic ${Buffer.from(`infobip:${password}`).toString('base64')}`;
  const webhook = (body: object, auth?: string) => f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'ib', method: 'POST', url: '', headers: auth ? { authorization: auth } : {}, query: {}, body: Buffer.from(JSON.stringify(body)) });
  const messages = async (e: RecordedEvent) => (await f.events(e.streamId, 'SessionMessageAdded')).map((x) => (x.data as { content: string }).content);

  it('sends the start phrase, records delivery reports, answers inbound messages once, and ends by the agent', async () => {
    const start = await f.started(campaignId, 'SMS', 'infobip', { name: 'Ann', phone: '+44 7700 900001' }, { agent: 'Sms' });
    await f.rt.handler.handle(start);
    const [sent] = ib.requests;
    const msg = (sent.json as { messages: { destinations: { to: string; messageId: string }[]; from: string; text: string; notifyUrl: string }[] }).messages[0];
    assert.deepEqual([msg.destinations[0].to, msg.from, msg.text], ['447700900001', 'HeraldBank', 'Hi Ann, confirm your appointment? Reply YES.']);
    assert.match(msg.notifyUrl, /^https:\/\/herald\.example\.com\/api\/webhooks\/ws-\w+\/ib$/);

    const report = { results: [{ bulkId: 'b1', messageId: msg.destinations[0].messageId, to: '447700900001', sentAt: '2026-11-23T10:00:00.000+0000', doneAt: '2026-11-23T10:00:01.000+0000', smsCount: 1,
      status: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET', description: 'Message delivered to handset' }, error: { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR' } }] };
    for (let i = 0; i < 5; i++) assert.equal((await webhook(report, basic('ib-secret'))).status, 200);
    const statuses = (await f.events(start.streamId, 'CommunicationUpdated')).map((e) => (e.data as { changes: { sessionStatus?: string } }).changes.sessionStatus).filter(Boolean);
    assert.deepEqual(statuses, ['DELIVERED'], 'one event for five deliveries of the report');

    const mo = (id: string, text: string) => ({ results: [{ messageId: id, from: '447700900001', to: 'HeraldBank', text, cleanText: text, receivedAt: '2026-11-23T10:01:00.000+0000', smsCount: 1 }], messageCount: 1, pendingMessageCount: 0 });
    for (let i = 0; i < 5; i++) await webhook(mo('mo-1', 'maybe'), basic('ib-secret'));
    await eventually(async () => (await messages(start)).length === 3 || undefined, { what: 'the answer' });
    await webhook(mo('mo-2', 'yes'), basic('ib-secret'));
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.deepEqual([end.status, (end.sessionResults as { OutcomeStatus: string }).OutcomeStatus], ['COMPLETED', 'CONFIRMED']);
    assert.deepEqual(await messages(start), ['Hi Ann, confirm your appointment? Reply YES.', 'maybe', 'Please answer YES to confirm.', 'yes', 'Thanks!']);
    assert.equal(ib.requests.length, 3);
  });

  it('refuses notifications without the Basic credentials (403)', async () => {
    const start = await f.started(campaignId, 'SMS', 'infobip', { phone: '+447700900002' }, { agent: 'Sms' });
    await f.rt.handler.handle(start);
    const mo = { results: [{ messageId: 'mo-x', from: '447700900002', text: 'yes' }] };
    assert.equal((await webhook(mo)).status, 403);
    assert.equal((await webhook(mo, basic('wrong'))).status, 403);
    assert.deepEqual(await messages(start), ['Hi Ann Lee, confirm your appointment? Reply YES.']);
  });
});
