import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import type { RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn } from '../../testing/dispatch-fixture.spec';

/*
 * Stands in for MessageBird: the Conversations API (POST /v1/send, answers
 * 202 {id, status: "accepted"}) and Bird's channels API (POST
 * /workspaces/{ws}/channels/{channel}/messages, answers 202 {id, status:
 * "accepted"}), both with `Authorization: AccessKey <key>` (401 {errors}
 * otherwise). Webhooks are signed as MessageBird signs them: the
 * Conversations API with MessageBird-Signature-JWT (HS256, iss MessageBird,
 * url_hash and payload_hash = SHA-256 hex), Bird with messagebird-signature
 * (base64 HMAC-SHA256 of "timestamp\nurl\n" + SHA-256(body)).
 */
describe('MessageBird (Whatsapp) and MessageBird Webhook (Whatsapp)', () => {
  let f: DispatchFixture;
  let mb: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  let n = 0;
  const KEY = 'signing-key';
  const URL_ = 'https://herald.example.com/api/webhooks/ws/mb';

  before(async () => {
    mb = await startStandIn((req, res) => {
      if (req.headers.authorization !== 'AccessKey live-key') return sendJson(res, 401, { errors: [{ code: 2, description: 'Request not allowed (incorrect access_key)' }] });
      sendJson(res, 202, { id: `mb-${++n}`, status: 'accepted' });
    });
    f = await DispatchFixture.create();
    await f.rt.integrations.configure(f.ws, { name: 'mb', type: 'messagebird', config: {
      accessKey: 'live-key', signingKey: KEY, channelId: 'chan-1', birdWorkspaceId: 'bws-1', conversationsUrl: mb.url, apiUrl: mb.url } });
    await f.rt.agents.save(f.ws, { name: 'Bird', backend: 'scripted', channels: ['messagebird_whatsapp', 'messagebird_webhook'], integrations: ['mb'],
      states: [{ name: 'start', start: true }], scripted: { rules: [{ match: 'ok', reply: 'Done.', end: true }], fallback: 'Reply OK please.' } });
    campaignId = await f.campaign([
      { name: 'Template', description: 'd', channel: 'messagebird_whatsapp', agent: 'Bird', settings: { projectId: 'proj-9', version: 'v3', startState: 'start', templateParameters: { name: '{{name}}' } } },
      { name: 'Hook', description: 'd', channel: 'messagebird_webhook', agent: 'Bird', settings: { startPhrase: 'Hello {{name}}' } },
    ]);
  });
  after(async () => {
    await f.close();
    await mb.close();
  });

  const sha = (d: string) => createHash('sha256').update(d).digest('hex');
  const jwtFor = (body: string, key = KEY) => new SignJWT({ url_hash: sha(URL_), payload_hash: sha(body) }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('MessageBird').setIssuedAt().setNotBefore('0s').setExpirationTime('5m').setJti(String(Math.random())).sign(new TextEncoder().encode(key));
  const birdSignature = (ts: string, body: string) => createHmac('sha256', KEY).update(Buffer.concat([Buffer.from(`${ts}\n${URL_}\n`), createHash('sha256').update(body).digest()])).digest('base64');
  const webhook = (body: string, headers: Record<string, string>) => f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'mb', method: 'POST', url: URL_, headers, query: {}, body: Buffer.from(body) });
  const messages = async (e: RecordedEvent) => (await f.events(e.streamId, 'SessionMessageAdded')).map((x) => (x.data as { content: string }).content);

  it('sends the Bird template by project and version; a reply signed the Bird way is answered once', async () => {
    const start = await f.started(campaignId, 'Template', 'messagebird_whatsapp', { name: 'Ann', phone: '+31 6 1234 5678' }, { agent: 'Bird' });
    await f.rt.handler.handle(start);
    const [sent] = mb.requests;
    assert.equal(sent.url, '/workspaces/bws-1/channels/chan-1/messages');
    assert.deepEqual(sent.json, { receiver: { contacts: [{ identifierKey: 'phonenumber', identifierValue: '+31612345678' }] },
      template: { projectId: 'proj-9', version: 'v3', locale: 'en', parameters: [{ type: 'string', key: 'name', value: 'Ann' }] } });
    const body = JSON.stringify({ service: 'channels', event: 'whatsapp.inbound', payload: { id: 'in-1', channelId: 'chan-1', sender: { contact: { identifierValue: '+31612345678' } }, body: { type: 'text', text: { text: 'hmm' } } } });
    const ts = String(Math.floor(Date.now() / 1000));
    for (let i = 0; i < 5; i++) assert.equal((await webhook(body, { 'messagebird-signature': birdSignature(ts, body), 'messagebird-request-timestamp': ts })).status, 200);
    await eventually(async () => (await messages(start)).length === 3 || undefined, { what: 'the answer' });
    assert.deepEqual(await messages(start), ['[template proj-9@v3: Ann]', 'hmm', 'Reply OK please.']);
    assert.deepEqual(mb.requests[1].json, { receiver: { contacts: [{ identifierKey: 'phonenumber', identifierValue: '+31612345678' }] }, body: { type: 'text', text: { text: 'Reply OK please.' } } });
    assert.equal((await webhook(body, { 'messagebird-signature': birdSignature(ts, body + ' '), 'messagebird-request-timestamp': ts })).status, 403);
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    assert.equal((await webhook(body, { 'messagebird-signature': birdSignature(old, body), 'messagebird-request-timestamp': old })).status, 403, 'an old signed delivery is not replayed');
  });

  it('sends the start phrase through the Conversations API; replies signed with MessageBird-Signature-JWT end the session', async () => {
    const start = await f.started(campaignId, 'Hook', 'messagebird_webhook', { name: 'Bob', phone: '+31611111111' }, { agent: 'Bird' });
    await f.rt.handler.handle(start);
    const sent = mb.requests.find((r) => r.url === '/v1/send')!;
    assert.deepEqual(sent.json, { to: '+31611111111', from: 'chan-1', type: 'text', content: { text: 'Hello Bob' } });
    const body = JSON.stringify({ type: 'message.created', contact: { msisdn: 31611111111 }, conversation: { id: 'conv-1' },
      message: { id: 'msg-in-1', conversationId: 'conv-1', channelId: 'chan-1', direction: 'received', from: '+31611111111', to: 'chan-1', type: 'text', content: { text: 'ok' }, status: 'received' } });
    assert.equal((await webhook(body, {})).status, 403);
    assert.equal((await webhook(body, { 'messagebird-signature-jwt': await jwtFor(body, 'other-key') })).status, 403);
    assert.equal((await webhook(body, { 'messagebird-signature-jwt': await jwtFor(body.replace('ok', 'no')) })).status, 403, 'payload_hash covers the body');
    for (let i = 0; i < 5; i++) assert.equal((await webhook(body, { 'messagebird-signature-jwt': await jwtFor(body) })).status, 200);
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.equal(end.sessionStatus, 'ENDED_BY_AGENT');
    assert.deepEqual(await messages(start), ['Hello Bob', 'ok', 'Done.']);
  });
});
