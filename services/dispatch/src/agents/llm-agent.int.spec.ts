import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicEventId, type RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn, type RecordedRequest } from '../testing/dispatch-fixture.spec';

/*
 * Two loopback servers. One stands in for an OpenAI-compatible
 * chat-completions endpoint (POST /v1/chat/completions with a Bearer key,
 * {model, messages: [{role, content}], response_format: {type: "json_object"}}
 * answered with {id, object: "chat.completion", created, model, choices:
 * [{index, message: {role: "assistant", content}, finish_reason}], usage};
 * errors as OpenAI sends them: {error: {message, type, param, code}}, 429
 * rate_limit_exceeded with a Retry-After header, 500 and 503 server_error). The other
 * stands in for the Telegram Bot API (sendMessage), the channel the agent
 * talks on; contact messages come in as Telegram webhooks.
 */
describe('the built-in LLM agent against an OpenAI-compatible chat-completions endpoint', () => {
  let f: DispatchFixture;
  let llm: Awaited<ReturnType<typeof startStandIn>>;
  let tg: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  const rateLimited = new Set<string>();
  let completions = 0;

  type Chat = { model: string; temperature: number; messages: { role: string; content: string }[]; response_format: { type: string } };
  const chatOf = (r: RecordedRequest) => r.json as Chat;
  const systemOf = (r: RecordedRequest) => chatOf(r).messages[0].content;
  const isExtraction = (r: RecordedRequest) => systemOf(r).startsWith('Extract the results');

  const completion = (content: string) => ({
    id: `chatcmpl-${++completions}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 120, completion_tokens: 20, total_tokens: 140 },
  });

  before(async () => {
    llm = await startStandIn((req, res) => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', param: null, code: null } });
      if (req.headers.authorization !== 'Bearer sk-test') {
        return sendJson(res, 401, { error: { message: 'Incorrect API key provided: sk-wr***.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      }
      const chat = chatOf(req);
      const system = chat.messages[0]?.content ?? '';
      const all = chat.messages.map((m) => m.content).join('\n');
      if (all.includes('crash')) return sendJson(res, 500, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } });
      if (system.includes('talking to Eve') && !rateLimited.has('Eve')) {
        rateLimited.add('Eve');
        return sendJson(res, 503, { error: { message: 'The engine is currently overloaded, please try again later.', type: 'server_error', param: null, code: null } });
      }
      if (system.includes('talking to Bob') && !rateLimited.has('Bob')) {
        rateLimited.add('Bob');
        return sendJson(res, 429, { error: { message: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
          { 'retry-after': '1', 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' });
      }
      if (system.startsWith('Extract the results')) {
        const transcript = chat.messages[1].content;
        return sendJson(res, 200, completion(JSON.stringify(/Friday/.test(transcript) ? { OutcomeStatus: 'SUCCESS', PromiseDate: 'Friday' } : { OutcomeStatus: 'UNCERTAIN', PromiseDate: null })));
      }
      const last = chat.messages[chat.messages.length - 1];
      if (system.includes('Write the opening message')) {
        const name = /talking to (\w+)/.exec(system)?.[1];
        return sendJson(res, 200, completion(JSON.stringify({ reply: `Hello ${name}, this is Herald Bank about your invoice.`, end: false, state: 'negotiation' })));
      }
      if (/friday/i.test(last.content)) return sendJson(res, 200, completion('```json\n{"reply": "Thank you, noted for Friday.", "end": true, "state": "closing"}\n```'));
      return sendJson(res, 200, completion(JSON.stringify({ reply: 'When could you pay?', end: false, state: 'no-such-state' })));
    });
    let n = 0;
    tg = await startStandIn((req, res) => {
      const body = req.json as { chat_id: string; text: string };
      sendJson(res, 200, { ok: true, result: { message_id: ++n, chat: { id: Number(body.chat_id), type: 'private' }, date: 1, text: body.text } });
    });
    f = await DispatchFixture.create({ silenceCheckMs: 100 });
    await f.rt.integrations.configure(f.ws, { name: 'tg', type: 'telegram', config: { botToken: '42:token', webhookSecret: 'hook-secret', apiUrl: tg.url } });
    await f.rt.integrations.configure(f.ws, { name: 'openai', type: 'llm', config: { baseUrl: `${llm.url}/v1`, apiKey: 'sk-test', model: 'gpt-4o' } });
    await f.rt.agents.save(f.ws, {
      name: 'Collector', backend: 'llm', channels: ['telegram'], integrations: ['tg'],
      states: [{ name: 'greeting', prompt: 'Remind the contact of the open invoice, politely.', start: true }, { name: 'negotiation', prompt: 'Agree on a payment date.' }, { name: 'closing' }],
      llm: { model: 'gpt-4o-mini', extract: [{ name: 'OutcomeStatus', description: 'SUCCESS, POSITIVE, UNCERTAIN, NEGATIVE or NO_RESPONSE' }, { name: 'PromiseDate', description: 'the day the contact promised to pay' }] },
    });
    campaignId = await f.campaign([
      { name: 'Chat', description: 'd', channel: 'telegram', agent: 'Collector', settings: { integration: 'tg' } },
      { name: 'Quiet', description: 'd', channel: 'telegram', agent: 'Collector', settings: { integration: 'tg', silenceTimeoutSeconds: 1 } },
    ], { llmIntegration: 'openai' });
  });
  after(async () => {
    await f.close();
    await llm.close();
    await tg.close();
  });

  const toChat = (chat: string) => tg.requests.filter((r) => (r.json as { chat_id?: string })?.chat_id === chat).map((r) => (r.json as { text: string }).text);
  const inbound = (updateId: number, chat: number, text: string) => f.rt.webhooks.handle({
    workspaceId: f.ws, integration: 'tg', method: 'POST', url: '', headers: { 'x-telegram-bot-api-secret-token': 'hook-secret' }, query: {},
    body: Buffer.from(JSON.stringify({ update_id: updateId, message: { message_id: updateId, chat: { id: chat, type: 'private' }, date: 1700000000, text } })),
  });
  const ended = async (e: RecordedEvent) => (await eventually(async () => ((await f.ends(e.streamId)).length ? f.ends(e.streamId) : undefined), { what: 'the end', timeoutMs: 20_000 }))[0];
  const sessionOf = (e: RecordedEvent) => deterministicEventId(`session:${(e.data as { communicationId: string }).communicationId}`);
  const llmFor = (name: string) => llm.requests.filter((r) => !isExtraction(r) && systemOf(r).includes(`talking to ${name}`));

  it('opens, answers a turn, and extracts the session_results (OutcomeStatus) from the transcript at the end', async () => {
    const start = await f.started(campaignId, 'Chat', 'telegram', { name: 'Ann', parameters: { telegram_chat_id: '1001', amount: 120 } }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    const [opening] = llmFor('Ann');
    assert.equal(opening.headers.authorization, 'Bearer sk-test');
    assert.equal(chatOf(opening).model, 'gpt-4o-mini', "the agent's model over the integration's default");
    assert.deepEqual(chatOf(opening).response_format, { type: 'json_object' });
    assert.equal(chatOf(opening).temperature, 0.2);
    assert.deepEqual(chatOf(opening).messages.map((m) => m.role), ['system']);
    assert.match(systemOf(opening), /^Remind the contact of the open invoice, politely\./, "the start state's prompt");
    assert.match(systemOf(opening), /"amount":120/);
    assert.match(systemOf(opening), /current state: greeting/);
    assert.deepEqual(toChat('1001'), ['Hello Ann, this is Herald Bank about your invoice.']);
    assert.equal((await f.rt.sessions.get(sessionOf(start)))?.state, 'negotiation', 'the state the model moved to');

    assert.equal((await inbound(1, 1001, 'I can pay on Friday')).status, 200);
    const end = await ended(start);
    const turn = llmFor('Ann')[1];
    assert.match(systemOf(turn), /^Agree on a payment date\./, "the current state's prompt");
    assert.deepEqual(chatOf(turn).messages.slice(1), [
      { role: 'assistant', content: 'Hello Ann, this is Herald Bank about your invoice.' }, { role: 'user', content: 'I can pay on Friday' }]);
    assert.deepEqual(toChat('1001'), ['Hello Ann, this is Herald Bank about your invoice.', 'Thank you, noted for Friday.'], 'the JSON answer is read even inside a code fence');

    const extraction = llm.requests.filter(isExtraction);
    assert.equal(extraction.length, 1);
    assert.match(systemOf(extraction[0]), /"OutcomeStatus" \(SUCCESS, POSITIVE, UNCERTAIN, NEGATIVE or NO_RESPONSE\), "PromiseDate" \(the day the contact promised to pay\)/);
    assert.equal(chatOf(extraction[0]).messages[1].content,
      'agent: Hello Ann, this is Herald Bank about your invoice.\ncontact: I can pay on Friday\nagent: Thank you, noted for Friday.', "the agent's last message is part of it");
    assert.deepEqual([end.status, end.sessionStatus], ['COMPLETED', 'ENDED_BY_AGENT']);
    assert.deepEqual(end.sessionResults, { OutcomeStatus: 'SUCCESS', PromiseDate: 'Friday', endReason: 'agent', sessionId: sessionOf(start) });
    assert.equal((await f.rt.sessions.get(sessionOf(start)))?.state, 'closing');
  });

  it('waits out a 429 with Retry-After and asks again: the contact gets one opening', async () => {
    const start = await f.started(campaignId, 'Chat', 'telegram', { name: 'Bob', parameters: { telegram_chat_id: '1002' } }, { agent: 'Collector' });
    const t0 = Date.now();
    await f.rt.handler.handle(start);
    const asked = llmFor('Bob');
    assert.equal(asked.length, 2, 'refused once (429), then answered');
    assert.ok(Date.now() - t0 >= 1000, 'Retry-After: 1 was waited out');
    assert.deepEqual(toChat('1002'), ['Hello Bob, this is Herald Bank about your invoice.']);
    assert.deepEqual(await f.ends(start.streamId), [], 'the conversation goes on');
    // An unknown state from the model is ignored: the session stays where it was.
    await inbound(2, 1002, 'hmm');
    await eventually(() => toChat('1002').length === 2 || undefined, { what: 'the answer' });
    assert.equal(toChat('1002')[1], 'When could you pay?');
    assert.equal((await f.rt.sessions.get(sessionOf(start)))?.state, 'negotiation');
  });

  it('ends the session with ERROR when the endpoint fails, and says why the extraction failed too', async () => {
    const start = await f.started(campaignId, 'Chat', 'telegram', { name: 'Cy', parameters: { telegram_chat_id: '1003' } }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    await inbound(3, 1003, 'please crash');
    const end = await ended(start);
    assert.deepEqual([end.status, end.sessionStatus], ['ERROR', 'ERROR']);
    assert.equal(end.result, 'LLM answered 500: The server had an error while processing your request. Sorry about that!');
    const results = end.sessionResults as Record<string, string>;
    assert.equal(results.endReason, 'error');
    assert.match(results.extractionError, /^LLM answered 500/);
    assert.equal(toChat('1003').length, 1, 'no reply went out');
    assert.equal(llm.requests.filter((r) => !isExtraction(r) && chatOf(r).messages.some((m) => m.content === 'please crash')).length, 3, 'asked three times (two retries of a 5xx)');
  });

  it('asks again after a passing 5xx (overloaded): the conversation opens normally', async () => {
    const start = await f.started(campaignId, 'Chat', 'telegram', { name: 'Eve', parameters: { telegram_chat_id: '1005' } }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    assert.equal(llmFor('Eve').length, 2);
    assert.deepEqual(toChat('1005'), ['Hello Eve, this is Herald Bank about your invoice.']);
    assert.deepEqual(await f.ends(start.streamId), []);
  });

  it('a contact who never answered ends NO_RESPONSE at the silence deadline, without asking the model', async () => {
    const before = llm.requests.filter(isExtraction).length;
    const start = await f.started(campaignId, 'Quiet', 'telegram', { name: 'Dee', parameters: { telegram_chat_id: '1004' } }, { agent: 'Collector' });
    await f.rt.handler.handle(start);
    const end = await ended(start);
    assert.deepEqual([end.status, end.sessionStatus], ['COMPLETED', 'NO_RESPONSE']);
    assert.deepEqual(end.sessionResults, { OutcomeStatus: 'NO_RESPONSE', endReason: 'timeout', sessionId: sessionOf(start) });
    assert.equal(llm.requests.filter(isExtraction).length, before);
  });
});
