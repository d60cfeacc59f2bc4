import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { deterministicEventId, newEvent, type DomainError, type RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn, type RecordedRequest } from '../../testing/dispatch-fixture.spec';

/*
 * Stands in for Meta's WhatsApp Cloud API (graph.facebook.com): POST
 * /{version}/{phone-number-id}/messages with a Bearer token answers
 * {messaging_product, contacts:[{input, wa_id}], messages:[{id}]}; a wrong
 * token answers 401 with an OAuthException (code 190); throughput limits
 * answer error code 130429 ("Rate limit hit"). Webhooks are signed as Meta
 * signs them: X-Hub-Signature-256 = sha256=HMAC-SHA256(app secret, raw body).
 */
describe('WhatsApp (Meta Cloud API) with a scripted agent: two-way sessions', () => {
  let f: DispatchFixture;
  let meta: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  let sent = 0;
  const APP_SECRET = 'app-secret';
  const rateLimitedOnce = new Set<string>();

  before(async () => {
    meta = await startStandIn((req, res) => {
      if (req.headers.authorization !== 'Bearer token-1') return sendJson(res, 401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      const body = req.json as { to: string; type: string };
      if (body.to === '15550000429' && !rateLimitedOnce.has(body.to)) {
        rateLimitedOnce.add(body.to);
        return sendJson(res, 400, { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429 } });
      }
      // The answer is lost: the request arrived, the connection dies before any response.
      if (body.to === '15550000999') {
        res.socket?.destroy();
        return;
      }
      sendJson(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: body.to }], messages: [{ id: `wamid.${++sent}` }] });
    });
    f = await DispatchFixture.create();
    await f.rt.integrations.configure(f.ws, { name: 'wa', type: 'whatsapp', config: {
      phoneNumberId: '1100', accessToken: 'token-1', appSecret: APP_SECRET, verifyToken: 'verify-me', apiUrl: meta.url } });
    await f.rt.agents.save(f.ws, {
      name: 'Collector', backend: 'scripted', channels: ['whatsapp'], integrations: ['wa'],
      states: [{ name: 'greeting', prompt: 'Remind politely', start: true }, { name: 'closing' }],
      scripted: {
        rules: [
          { match: '\\b(will pay|paid)\\b', reply: 'Thank you {{name}}, noted.', end: true, state: 'closing', results: { OutcomeStatus: 'PROMISED' } },
          { match: 'who', reply: 'This is Herald Bank about {{amount}} EUR.' },
        ],
        fallback: 'When could you pay?',
      },
    });
    campaignId = await f.campaign([
      { name: 'WA', description: 'd', channel: 'whatsapp', agent: 'Collector', settings: { integration: 'wa', startState: 'greeting', templateName: 'payment_due', templateParameters: ['{{name}}', '{{amount}}'] } },
      { name: 'Quiet', description: 'd', channel: 'whatsapp', agent: 'Collector', settings: { integration: 'wa', templateName: 'payment_due', silenceTimeoutSeconds: 1 } },
      { name: 'AB', description: 'd', channel: 'whatsapp', agent: 'Collector', settings: { integration: 'wa', templateName: 'control_tpl' }, variants: [
        { label: 'A', group: 'control', weight: 1, channel: 'whatsapp', agent: 'Collector', settings: { integration: 'wa', templateName: 'tpl_a' } },
        { label: 'B', group: 'experimental', weight: 1, channel: 'whatsapp', agent: 'Collector', settings: { integration: 'wa', templateName: 'tpl_b' } },
      ] },
    ]);
  });
  after(async () => {
    await f.close();
    await meta.close();
  });

  const commIdOf = (e: RecordedEvent) => (e.data as { communicationId: string }).communicationId;
  const requestsTo = (to: string) => meta.requests.filter((r) => (r.json as { to?: string })?.to === to);
  const sign = (body: string) => `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
  function inbound(from: string, id: string, text: string) {
    return JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: 'WABA', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001100', phone_number_id: '1100' },
      contacts: [{ profile: { name: 'Ann' }, wa_id: from }], messages: [{ from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }] } }] }] });
  }
  const webhook = (body: string, headers: Record<string, string>) =>
    f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'wa', method: 'POST', url: 'http://herald.test/api/webhooks/x/wa', headers, query: {}, body: Buffer.from(body) });
  const sessionMessages = async (e: RecordedEvent) => (await f.events(e.streamId, 'SessionMessageAdded')).map((x) => x.data as { role: string; content: string; messageId: string });

  it('keeps agents in a registry: secrets write-only, listed by channel, wrong fields named', async () => {
    const saved = await f.rt.agents.save(f.ws, { name: 'Hooked', backend: 'webhook', channels: ['telegram'], webhook: { url: 'http://127.0.0.1:1/agent', secret: 's3cret' } });
    assert.deepEqual(saved.secrets, ['webhook.secret']);
    assert.equal(JSON.stringify(saved).includes('s3cret'), false);
    assert.equal(JSON.stringify(await f.rt.agents.view(f.ws, 'Hooked')).includes('s3cret'), false);
    assert.equal((await f.rt.agents.find(f.ws, 'Hooked'))?.webhook?.secret, 's3cret', 'the engine gets it decrypted');
    assert.deepEqual((await f.rt.agents.list(f.ws, { channel: 'whatsapp' })).map((a) => a.name), ['Collector']);
    assert.deepEqual((await f.rt.agents.view(f.ws, 'Collector')).startStates, ['greeting']);
    await assert.rejects(f.rt.agents.save(f.ws, { name: 'x', backend: 'scripted', scripted: { rules: [{ match: '(' }] } }), (e: DomainError) => /^scripted\.rules\[0\]\.match/.test(e.message));
    await assert.rejects(f.rt.agents.save(f.ws, { name: 'x', backend: 'llm', channels: ['fax'] }), (e: DomainError) => /^channels\[0\]/.test(e.message));
    await assert.rejects(f.rt.agents.save(f.ws, { name: 'x', backend: 'scripted', states: [{ name: 'a' }, { name: 'a' }], scripted: { rules: [] } }), (e: DomainError) => /^states\[1\]\.name/.test(e.message));
  });

  it('opens with the approved template, then answers the contact once however often the webhook is delivered, and ends by the agent', async () => {
    const start = await f.started(campaignId, 'WA', 'whatsapp', { phone: '+1 555 000 0001', name: 'Ann', parameters: { amount: 120 } }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    await f.rt.handler.handle(start);
    const [template] = requestsTo('15550000001');
    assert.equal(requestsTo('15550000001').length, 1);
    assert.equal(template.url, '/v21.0/1100/messages');
    assert.deepEqual(template.json, { messaging_product: 'whatsapp', recipient_type: 'individual', to: '15550000001', type: 'template',
      template: { name: 'payment_due', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ann' }, { type: 'text', text: '120' }] }] } });
    const sessionId = deterministicEventId(`session:${commIdOf(start)}`);
    const updated = (await f.events(start.streamId, 'CommunicationUpdated'))[0].data as { changes: { sessionId: string } };
    assert.equal(updated.changes.sessionId, sessionId);
    assert.deepEqual((await sessionMessages(start)).map((m) => m.role), ['agent']);

    const question = inbound('15550000001', 'wamid.in-1', 'who is this?');
    for (let i = 0; i < 5; i++) assert.equal((await webhook(question, { 'x-hub-signature-256': sign(question) })).status, 200);
    await eventually(async () => (await sessionMessages(start)).length === 3 || undefined, { what: 'the agent answer' });
    assert.deepEqual((await sessionMessages(start)).map((m) => [m.role, m.content]), [
      ['agent', '[template payment_due: Ann | 120]'], ['contact', 'who is this?'], ['agent', 'This is Herald Bank about 120 EUR.']]);
    const texts = () => requestsTo('15550000001').filter((r) => (r.json as { type: string }).type === 'text');
    assert.deepEqual(texts().map((r) => (r.json as { text: { body: string } }).text.body), ['This is Herald Bank about 120 EUR.']);

    const promise = inbound('15550000001', 'wamid.in-2', 'I will pay on Friday');
    await Promise.all([1, 2, 3, 4, 5].map(() => webhook(promise, { 'x-hub-signature-256': sign(promise) })));
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.equal(end.status, 'COMPLETED');
    assert.equal(end.sessionStatus, 'ENDED_BY_AGENT');
    assert.equal((end.sessionResults as { OutcomeStatus: string }).OutcomeStatus, 'PROMISED');
    assert.equal((end.sessionResults as { sessionId: string }).sessionId, sessionId);
    assert.deepEqual((await sessionMessages(start)).map((m) => m.role), ['agent', 'contact', 'agent', 'contact', 'agent']);
    assert.equal(texts().length, 2, 'one reply per contact message');
    const view = await eventually(async () => {
      const v = await f.rt.sessions.view(f.ws, sessionId);
      return v.messages.length === 5 && v.status === 'closed' ? v : undefined;
    }, { what: 'the transcript read model' });
    assert.equal(view.state, 'closing');
    assert.equal(view.endReason, 'agent');
    assert.equal(view.messages[4].content, 'Thank you Ann, noted.');
  });

  it('answers 403 and records nothing when the signature is missing or wrong; verifies the GET challenge', async () => {
    const start = await f.started(campaignId, 'WA', 'whatsapp', { phone: '+15550000002' }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    const body = inbound('15550000002', 'wamid.forged', 'I will pay');
    assert.equal((await webhook(body, {})).status, 403);
    assert.equal((await webhook(body, { 'x-hub-signature-256': sign(body + ' ') })).status, 403);
    assert.equal((await webhook(body, { 'x-hub-signature-256': createHmac('sha256', 'other').update(body).digest('hex') })).status, 403);
    const other = await f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'nope', method: 'POST', url: '', headers: { 'x-hub-signature-256': sign(body) }, query: {}, body: Buffer.from(body) });
    assert.equal(other.status, 403);
    assert.deepEqual((await sessionMessages(start)).map((m) => m.role), ['agent'], 'nothing recorded');
    const challenge = (token: string) => f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'wa', method: 'GET', url: '', headers: {}, query: { 'hub.mode': 'subscribe', 'hub.verify_token': token, 'hub.challenge': '1158201444' }, body: Buffer.alloc(0) });
    assert.deepEqual(await challenge('verify-me'), { status: 200, contentType: 'text/plain', body: '1158201444' });
    assert.equal((await challenge('guess')).status, 403);
  });

  it('opts the contact out of WhatsApp at once on STOP (any case), ends the session, and sends nothing more', async () => {
    const start = await f.started(campaignId, 'WA', 'whatsapp', { phone: '+15550000003' }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    const stop = inbound('15550000003', 'wamid.stop', ' sToP ');
    assert.equal((await webhook(stop, { 'x-hub-signature-256': sign(stop) })).status, 200);
    assert.equal(await f.rt.optOuts.isOptedOut(f.ws, 'whatsapp', '+1 (555) 000-0003'), true, 'effective when the webhook answers');
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.deepEqual([end.status, end.sessionStatus], ['INTERRUPTED', 'OPTED_OUT']);
    assert.equal(requestsTo('15550000003').length, 1, 'no answer to STOP');
    const again = await f.started(campaignId, 'WA', 'whatsapp', { phone: '+15550000003' }, { agent: 'Collector' });
    await f.rt.handler.handle(again);
    assert.deepEqual((await f.ends(again.streamId)).map((e) => e.sessionStatus), ['OPTED_OUT']);
    assert.equal(requestsTo('15550000003').length, 1);
    for (const word of ['UNSUBSCRIBE', 'end', 'Quit', 'stopall', 'REVOKE', 'optout', 'Cancel.']) {
      const m = inbound('15550000777', `wamid.${word}`, word);
      await webhook(m, { 'x-hub-signature-256': sign(m) });
    }
    assert.equal(await f.rt.optOuts.isOptedOut(f.ws, 'whatsapp', '15550000777'), true);
    assert.equal(await f.rt.optOuts.isOptedOut(f.ws, 'telegram', '15550000777'), false, 'per channel');
  });

  it('ends a silent conversation at its deadline, unless a strategy extended it through internal_data', async () => {
    const silent = await f.started(campaignId, 'Quiet', 'whatsapp', { phone: '+15550000004' }, { agent: 'Collector' });
    await f.rt.handler.handle(silent);
    const [end] = await eventually(async () => (await f.ends(silent.streamId)).length ? f.ends(silent.streamId) : undefined, { what: 'the timeout' });
    assert.deepEqual([end.status, end.sessionStatus], ['COMPLETED', 'NO_RESPONSE']);
    assert.equal((end.sessionResults as { OutcomeStatus: string }).OutcomeStatus, 'NO_RESPONSE');

    const kept = await f.started(campaignId, 'Quiet', 'whatsapp', { phone: '+15550000005' }, { agent: 'Collector' });
    await f.store.append(kept.streamId, [newEvent('ContactInternalDataChanged', { internalData: { session_timeout_seconds: 3600 } }, { workspaceId: f.ws })], 'any');
    await f.rt.handler.handle(kept);
    const sessionId = deterministicEventId(`session:${commIdOf(kept)}`);
    await eventually(async () => {
      const { rows } = await f.db.pool.query(`SELECT deadline > started_at + interval '30 minutes' AS extended FROM dispatch_sessions WHERE session_id = $1`, [sessionId]);
      return rows[0]?.extended || undefined;
    }, { what: 'the timer to extend the deadline' });
    assert.deepEqual(await f.ends(kept.streamId), [], 'still going');
    assert.equal((await f.rt.sessions.get(sessionId))?.status, 'open');
  });

  it('waits out a rate-limit answer and sends once; a lost answer is never sent again', async () => {
    const limited = await f.started(campaignId, 'WA', 'whatsapp', { phone: '+15550000429' }, { agent: 'Collector' });
    await f.rt.handler.handle(limited);
    assert.equal(requestsTo('15550000429').length, 2, 'refused once (130429), then accepted');
    assert.deepEqual(await f.ends(limited.streamId), []);

    const lost = await f.started(campaignId, 'WA', 'whatsapp', { phone: '+15550000999' }, { agent: 'Collector' });
    await f.rt.handler.handle(lost);
    await f.rt.handler.handle(lost);
    assert.equal(requestsTo('15550000999').length, 1, 'the provider saw it once');
    const [end] = await f.ends(lost.streamId);
    assert.deepEqual([end.status, end.sessionStatus], ['ERROR', 'UNKNOWN']);
  });

  it('applies the A/B variant the scheduler chose, or chooses one by weight (the same on a retry) and records its label', async () => {
    const labelled = await f.started(campaignId, 'AB', 'whatsapp', { phone: '+15550000010' }, { agent: 'Collector', variant: 'B' });
    await f.rt.handler.handle(labelled);
    assert.equal((requestsTo('15550000010')[0].json as { template: { name: string } }).template.name, 'tpl_b');
    const picks = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const phone = `+1555000002${i}`;
      const unlabelled = await f.started(campaignId, 'AB', 'whatsapp', { phone }, { agent: 'Collector' });
      await f.rt.handler.handle(unlabelled);
      const name = (requestsTo(phone.slice(1))[0].json as { template: { name: string } }).template.name;
      const recorded = (await f.events(unlabelled.streamId, 'CommunicationUpdated')).map((e) => (e.data as { changes: { variant?: string } }).changes.variant).find(Boolean);
      assert.equal(name, `tpl_${recorded!.toLowerCase()}`, 'the label recorded is the variant used');
      picks.add(recorded!);
    }
    assert.deepEqual([...picks].sort(), ['A', 'B'], 'both arms are used');
  });
});

export type { RecordedRequest };
