import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deterministicEventId, type RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn, type RecordedRequest } from '../testing/dispatch-fixture.spec';

/*
 * Two loopback servers. One is an external agent reached by HTTP webhook, as
 * docs/agents.md describes it: it checks X-Herald-Signature (sha256=HMAC of
 * the raw body with the agent's secret), reads {event, reason, agent, state,
 * sessionId, communicationId, stage, results, transcript, contact} and
 * answers {reply, end, state, results}. The other stands in for the Telegram
 * Bot API (sendMessage), the channel the agent talks on.
 */
describe('the webhook agent: an agent living behind an HTTP endpoint', () => {
  const SECRET = 'agent-secret';
  let f: DispatchFixture;
  let agent: Awaited<ReturnType<typeof startStandIn>>;
  let tg: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  let badSignatures = 0;

  type Call = { event: string; reason: string | null; agent: string; state: string | null; sessionId: string; communicationId: string;
    stage: { name: string; channel: string; settings: Record<string, unknown> }; results: Record<string, unknown>;
    transcript: { role: string; content: string; createdAt: string }[]; contact: { key: string; name: string; parameters: Record<string, unknown>; internalData: Record<string, unknown> } };
  const callOf = (r: RecordedRequest) => r.json as Call;

  before(async () => {
    agent = await startStandIn((req, res) => {
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(req.body).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-herald-signature'] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        badSignatures++;
        return sendJson(res, 401, { error: 'bad signature' });
      }
      const call = callOf(req);
      const last = call.transcript.filter((m) => m.role === 'contact').at(-1)?.content ?? '';
      if (call.contact.name === 'Down' && call.event !== 'start') return sendJson(res, 503, { error: 'agent is down for maintenance' });
      if (call.event === 'start') return sendJson(res, 200, { reply: `Hi ${call.contact.name}, about the ${call.contact.parameters.amount} EUR.`, state: 'negotiation' });
      if (call.event === 'end') return sendJson(res, 200, { results: { PromiseDate: /friday/i.test(call.transcript.map((m) => m.content).join(' ')) ? 'Friday' : null, turns: call.transcript.length } });
      if (/friday/i.test(last)) return sendJson(res, 200, { reply: 'Noted, thank you.', end: true, state: 'closing', results: { OutcomeStatus: 'PROMISED' } });
      return sendJson(res, 200, { reply: 'When can you pay?', results: { asked: true } });
    });
    let n = 0;
    tg = await startStandIn((req, res) => {
      const body = req.json as { chat_id: string; text: string };
      sendJson(res, 200, { ok: true, result: { message_id: ++n, chat: { id: Number(body.chat_id), type: 'private' }, date: 1, text: body.text } });
    });
    f = await DispatchFixture.create();
    await f.rt.integrations.configure(f.ws, { name: 'tg', type: 'telegram', config: { botToken: '42:token', webhookSecret: 'hook-secret', apiUrl: tg.url } });
    await f.rt.agents.save(f.ws, {
      name: 'Remote', backend: 'webhook', channels: ['telegram'], integrations: ['tg'],
      states: [{ name: 'greeting', start: true }, { name: 'negotiation' }, { name: 'closing' }],
      webhook: { url: `${agent.url}/agent`, secret: SECRET },
    });
    campaignId = await f.campaign([{ name: 'Chat', description: 'd', channel: 'telegram', agent: 'Remote', settings: { integration: 'tg', tone: 'friendly' } }]);
  });
  after(async () => {
    await f.close();
    await agent.close();
    await tg.close();
  });

  const toChat = (chat: string) => tg.requests.filter((r) => (r.json as { chat_id?: string })?.chat_id === chat).map((r) => (r.json as { text: string }).text);
  const inbound = (updateId: number, chat: number, text: string) => f.rt.webhooks.handle({
    workspaceId: f.ws, integration: 'tg', method: 'POST', url: '', headers: { 'x-telegram-bot-api-secret-token': 'hook-secret' }, query: {},
    body: Buffer.from(JSON.stringify({ update_id: updateId, message: { message_id: updateId, chat: { id: chat, type: 'private' }, date: 1700000000, text } })),
  });
  const ended = async (e: RecordedEvent) => (await eventually(async () => ((await f.ends(e.streamId)).length ? f.ends(e.streamId) : undefined), { what: 'the end' }))[0];
  const callsFor = (communicationId: string) => agent.requests.map(callOf).filter((c) => c.communicationId === communicationId);
  const commIdOf = (e: RecordedEvent) => (e.data as { communicationId: string }).communicationId;

  it('opens, answers each contact message, and ends with the results of its turns and of the end call', async () => {
    const start = await f.started(campaignId, 'Chat', 'telegram', { name: 'Ann', parameters: { telegram_chat_id: '2001', amount: 120 } }, { agent: 'Remote' });
    await f.rt.handler.handle(start);
    const [opening] = callsFor(commIdOf(start));
    assert.equal(agent.requests[0].url, '/agent');
    assert.equal(agent.requests[0].headers['content-type'], 'application/json');
    assert.deepEqual([opening.event, opening.reason, opening.agent, opening.state, opening.sessionId], ['start', null, 'Remote', 'greeting', deterministicEventId(`session:${commIdOf(start)}`)]);
    assert.deepEqual(opening.stage, { name: 'Chat', channel: 'telegram', settings: { integration: 'tg', tone: 'friendly' } });
    assert.deepEqual([opening.contact.name, opening.contact.parameters, opening.transcript], ['Ann', { telegram_chat_id: '2001', amount: 120 }, []]);
    assert.deepEqual(toChat('2001'), ['Hi Ann, about the 120 EUR.']);

    await inbound(11, 2001, 'hello?');
    await eventually(async () => (await f.events(start.streamId, 'SessionMessageAdded')).length === 3 || undefined, { what: 'the first answer recorded' });
    await inbound(12, 2001, 'I will pay on Friday');
    const end = await ended(start);
    const calls = callsFor(commIdOf(start));
    assert.deepEqual(calls.map((c) => [c.event, c.state]), [['start', 'greeting'], ['message', 'negotiation'], ['message', 'negotiation'], ['end', 'closing']]);
    assert.deepEqual(calls[2].transcript.map((m) => [m.role, m.content]), [
      ['agent', 'Hi Ann, about the 120 EUR.'], ['contact', 'hello?'], ['agent', 'When can you pay?'], ['contact', 'I will pay on Friday']]);
    assert.deepEqual(calls[2].results, { asked: true }, 'results of earlier turns are passed back');
    assert.equal(calls[3].reason, 'agent');
    assert.equal(calls[3].transcript.at(-1)?.content, 'Noted, thank you.', "the end call sees the agent's last message");
    assert.deepEqual(toChat('2001'), ['Hi Ann, about the 120 EUR.', 'When can you pay?', 'Noted, thank you.']);
    assert.deepEqual([end.status, end.sessionStatus], ['COMPLETED', 'ENDED_BY_AGENT']);
    assert.deepEqual(end.sessionResults, { asked: true, OutcomeStatus: 'PROMISED', PromiseDate: 'Friday', turns: 5, endReason: 'agent', sessionId: deterministicEventId(`session:${commIdOf(start)}`) });
    assert.equal(badSignatures, 0, 'every call carried a valid X-Herald-Signature');
  });

  it('ends the session with ERROR when the agent endpoint fails, keeping what the turns had gathered', async () => {
    const start = await f.started(campaignId, 'Chat', 'telegram', { name: 'Down', parameters: { telegram_chat_id: '2002', amount: 5 } }, { agent: 'Remote' });
    await f.rt.handler.handle(start);
    await inbound(21, 2002, 'hi');
    const end = await ended(start);
    assert.deepEqual([end.status, end.sessionStatus], ['ERROR', 'ERROR']);
    assert.match(String(end.result), /^agent webhook answered 503: .*down for maintenance/);
    assert.deepEqual(end.sessionResults, { endReason: 'error', sessionId: deterministicEventId(`session:${commIdOf(start)}`) });
    assert.deepEqual(toChat('2002'), ['Hi Down, about the 5 EUR.'], 'no answer went out');
    assert.deepEqual(callsFor(commIdOf(start)).map((c) => c.event), ['start', 'message', 'end'], 'the end call is still made (its failure is ignored)');
  });
});
