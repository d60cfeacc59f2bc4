import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { campaignStreamId, contactStreamId, newEvent, type AnalysisStatusView } from '@herald/contracts';
import { useSystemScope } from '@herald/service-defaults';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn, type RecordedRequest } from '../testing/dispatch-fixture.spec';
import { DeepAnalysis } from './deep-analysis';

/*
 * A loopback server stands in for an OpenAI-compatible chat-completions
 * endpoint: POST /v1/chat/completions with a Bearer key and {model,
 * temperature, messages, response_format: {type: "json_schema", json_schema:
 * {name, strict, schema}}} (OpenAI's structured outputs), answered with
 * {id, object: "chat.completion", created, model, choices: [{index, message:
 * {role: "assistant", content}, finish_reason}], usage}; errors as OpenAI
 * sends them ({error: {message, type, param, code}}): 429
 * rate_limit_exceeded with Retry-After, 500 server_error. It answers the
 * keys the request's schema requires, from what the transcript says.
 * Sessions are written the way dispatch writes them (a session row, the
 * contact's SessionMessageAdded and CommunicationEnded events).
 */
const V1 = `title: Collections conversations
depth: 30
model: gpt-analysis
instructions: The agent speaks for Herald Bank about an open invoice.
metrics:
  - code: intent
    name: Payment intent
    type: enum
    values: [will_pay, disputes, refuses, unclear]
    question: What does the contact intend to do about the invoice?
  - code: satisfaction
    name: Client satisfaction
    type: scale
    range: {min: 1, max: 5}
    question: How satisfied did the contact sound at the end?
  - code: interested
    type: boolean
    question: Did the contact show interest in paying?
  - code: summary
    type: text
    maxLength: 40
    question: Summarise the conversation in one sentence.
`;
const CALLBACK = `  - code: callback
    type: boolean
    question: Did the contact ask to be called back?
`;
const V2 = V1 + CALLBACK;
const V3 = V1.slice(0, V1.indexOf('  - code: summary')) + CALLBACK;

type Chat = { model: string; messages: { role: string; content: string }[]; response_format: { type: string; json_schema?: { name: string; strict: boolean; schema: { required: string[]; properties: Record<string, { type: string[]; enum?: unknown[] }> } } } };

describe('deep analysis of session transcripts through the LLM integration', () => {
  let f: DispatchFixture;
  let llm: Awaited<ReturnType<typeof startStandIn>>;
  let mood: 'v1' | 'v2' = 'v1';
  let exploding = true;
  let hold: Promise<void> | null = null;
  let delayMs = 0;
  let held = 0;
  const rateLimited = new Set<string>();
  let completions = 0;

  const chatOf = (r: RecordedRequest) => r.json as Chat;
  const tagOf = (r: RecordedRequest) => /\[(\w+)\]/.exec(chatOf(r).messages[1]?.content ?? '')?.[1] ?? '';
  const asked = (tag: string) => llm.requests.filter((r) => tagOf(r) === tag);
  const keysAsked = (r: RecordedRequest) => chatOf(r).response_format.json_schema!.schema.required;

  before(async () => {
    llm = await startStandIn(async (req, res) => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', param: null, code: null } });
      if (req.headers.authorization !== 'Bearer sk-analysis') return sendJson(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
      const chat = chatOf(req);
      const transcript = chat.messages[1]?.content ?? '';
      const tag = tagOf(req);
      if (/busy/.test(transcript) && !rateLimited.has(tag)) {
        rateLimited.add(tag);
        return sendJson(res, 429, { error: { message: 'Rate limit reached for gpt-analysis on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
          { 'retry-after': '1', 'x-ratelimit-remaining-requests': '0' });
      }
      if (/explode/.test(transcript) && exploding) return sendJson(res, 500, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } });
      if (hold) {
        held++;
        await hold;
        held--;
      }
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const friday = /friday/i.test(transcript);
      const wrong = /wrong/i.test(transcript);
      const answer: Record<string, unknown> = {};
      for (const key of chat.response_format.json_schema!.schema.required) {
        answer[key] = {
          intent: friday ? 'will_pay' : wrong ? 'Disputes' : 'refuses',
          satisfaction: /weird/.test(transcript) ? 9 : friday ? (mood === 'v2' ? 5 : 4) : wrong ? 2 : 1,
          interested: friday,
          summary: `Contact ${tag} talked about the invoice and more than forty characters`,
          callback: /call me/i.test(transcript),
        }[key];
      }
      sendJson(res, 200, {
        id: `chatcmpl-${++completions}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: chat.model,
        choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify(answer), refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 200, completion_tokens: 30, total_tokens: 230 },
      });
    });
    f = await DispatchFixture.create({ analysis: { pollMs: 50, retryDelayMs: 100, maxAttempts: 2 } });
    await f.rt.integrations.configure(f.ws, { name: 'openai', type: 'llm', config: { baseUrl: `${llm.url}/v1`, apiKey: 'sk-analysis', model: 'gpt-test' } });
  });
  after(async () => {
    await f.close();
    await llm.close();
  });

  const upload = (campaignId: string, yaml: string, version: number) =>
    f.store.append(campaignStreamId(campaignId), [newEvent('AnalyticsUploaded', { analytics: { fileName: 'metrics.yaml', yaml, version } }, { workspaceId: f.ws })], 'any');

  /** A conversation that ended, as dispatch records it; `tag` marks the contact's messages. */
  async function ended(campaignId: string, tag: string, lines: ['agent' | 'contact', string][]): Promise<string> {
    const key = `o:${tag}`;
    const streamId = contactStreamId(campaignId, key);
    const communicationId = randomUUID();
    const sessionId = randomUUID();
    await f.rt.sessions.open({ sessionId, workspaceId: f.ws, communicationId, campaignId, contactKey: key, streamId, channel: 'telegram', integration: null, agent: 'Bot', state: null, address: tag, timeoutSeconds: 60 });
    const meta = { workspaceId: f.ws };
    await f.store.append(streamId, [
      newEvent('ContactCreated', { campaignId, key, objectId: tag, externalId: null, name: tag, email: null, phone: '+12025550100', parameters: {}, uploadId: null, row: 2 }, meta),
      newEvent('CommunicationPlanned', { communication: { id: communicationId, name: 'chat', stageName: 'Chat', startDate: new Date().toISOString(), endDate: null } }, meta),
      newEvent('CommunicationStarted', { communicationId, campaignId, contactKey: key, stageName: 'Chat', channel: 'telegram', agent: 'Bot', variant: null, startedAt: new Date().toISOString(), sessionId }, meta),
      ...lines.map(([role, content], i) => newEvent('SessionMessageAdded', { communicationId, sessionId, messageId: `${sessionId}-${i}`, role, content, createdAt: new Date().toISOString() }, meta)),
      newEvent('CommunicationEnded', { communicationId, status: 'COMPLETED', sessionStatus: 'ENDED_BY_AGENT', result: null, finishedAt: new Date().toISOString(), sessionResults: { sessionId } }, meta),
    ], 'no_stream');
    await f.rt.sessions.close(sessionId, 'agent');
    return sessionId;
  }

  const status = (campaignId: string) => f.rt.analysis.runs.status(f.ws, campaignId);
  const settled = (campaignId: string, what: string, timeoutMs = 20_000) =>
    eventually(async () => { const s = await status(campaignId); return s.state === 'done' ? s : undefined; }, { what, timeoutMs });
  const resultsOf = async (campaignId: string) => {
    const page = await f.rt.analysis.results.sessions(f.ws, campaignId, { limit: 100 });
    return new Map(page.items.map((i) => [i.contactKey.slice(2), i]));
  };

  let campaignId: string;
  const ids: Record<string, string> = {};

  it('analyses each session as it ends while a YAML is active: one structured-output completion per session, a 429 waited out, an empty conversation not asked', async () => {
    campaignId = await f.campaign([], { llmIntegration: 'openai' });
    assert.equal((await status(campaignId)).state, 'none', 'no YAML yet');
    await upload(campaignId, V1, 1);
    assert.equal((await status(campaignId)).state, 'idle');
    const t0 = Date.now();
    ids.S1 = await ended(campaignId, 'S1', [['agent', 'Hello, this is Herald Bank about your invoice.'], ['contact', 'I can pay on Friday [S1]'], ['agent', 'Noted, thank you.']]);
    ids.S2 = await ended(campaignId, 'S2', [['agent', 'Hello.'], ['contact', 'This bill is wrong, I dispute it [S2]']]);
    ids.S3 = await ended(campaignId, 'S3', [['agent', 'Hello.'], ['contact', 'busy now, no [S3]']]);
    ids.S4 = await ended(campaignId, 'S4', []);
    ids.S7 = await ended(campaignId, 'S7', [['agent', 'Hello.'], ['contact', 'Friday works [S7]']]);
    const done = await eventually(async () => { const s = await status(campaignId); return s.state === 'done' && s.counts.done === 5 ? s : undefined; }, { what: 'the five sessions analysed' });
    assert.equal(done.run?.kind, 'live');
    assert.deepEqual(done.counts, { total: 5, pending: 0, running: 0, done: 5, failed: 0, cancelled: 0 });

    const [first] = asked('S1');
    assert.equal(asked('S1').length, 1, 'one completion per session');
    assert.equal(first.headers.authorization, 'Bearer sk-analysis');
    const chat = chatOf(first);
    assert.equal(chat.model, 'gpt-analysis', "the YAML's model over the integration's");
    assert.equal(chat.response_format.type, 'json_schema');
    assert.equal(chat.response_format.json_schema?.strict, true);
    assert.deepEqual(keysAsked(first), ['intent', 'satisfaction', 'interested', 'summary']);
    assert.deepEqual(chat.response_format.json_schema?.schema.properties.intent.enum, ['will_pay', 'disputes', 'refuses', 'unclear', null]);
    assert.deepEqual(chat.response_format.json_schema?.schema.properties.satisfaction.type, ['integer', 'null']);
    assert.match(chat.messages[0].content, /The agent speaks for Herald Bank about an open invoice\./, "the YAML's instructions");
    assert.match(chat.messages[0].content, /- "satisfaction" \(a whole number from 1 to 5\): How satisfied did the contact sound at the end\?/);
    assert.equal(chat.messages[1].content, 'agent: Hello, this is Herald Bank about your invoice.\ncontact: I can pay on Friday [S1]\nagent: Noted, thank you.');
    assert.equal(asked('S3').length, 2, 'refused once with 429, asked again');
    assert.ok(Date.now() - t0 >= 1000, 'Retry-After: 1 was waited out');
    assert.equal(asked('S4').length, 0, 'a conversation without messages is not sent to the model');

    const r = await resultsOf(campaignId);
    assert.deepEqual(r.get('S1')?.values, { intent: 'will_pay', satisfaction: 4, interested: true, summary: 'Contact S1 talked about the invoice and' });
    assert.equal(r.get('S2')?.values.intent, 'disputes', 'an enum answer is matched to the value as the YAML spells it');
    assert.deepEqual(r.get('S4')?.values, { intent: null, satisfaction: null, interested: null, summary: null });
    assert.equal(r.get('S4')?.errors.intent, 'the conversation has no messages');

    const agg = await f.rt.analysis.results.aggregates(f.ws, campaignId);
    assert.equal(agg.sessions, 5);
    assert.equal(agg.title, 'Collections conversations');
    const m = Object.fromEntries(agg.metrics.map((x) => [x.code, x]));
    assert.deepEqual(m.intent.counts, [{ value: 'will_pay', count: 2 }, { value: 'disputes', count: 1 }, { value: 'refuses', count: 1 }, { value: 'unclear', count: 0 }]);
    assert.deepEqual([m.intent.analysed, m.intent.answered], [5, 4]);
    assert.deepEqual([m.satisfaction.mean, m.satisfaction.minValue, m.satisfaction.maxValue], [2.75, 1, 4]);
    assert.deepEqual(m.satisfaction.counts?.map((c) => c.count), [1, 1, 0, 2, 0], 'per step of the scale 1..5');
    assert.deepEqual([m.interested.trueCount, m.interested.falseCount, m.interested.trueRate], [2, 2, 0.5]);
    assert.equal(m.summary.samples?.length, 4);
  });

  it('keeps a value that breaks its definition as null with the reason, and fails a session whose endpoint keeps failing (retried, then failed with the message)', async () => {
    ids.S5 = await ended(campaignId, 'S5', [['agent', 'Hello.'], ['contact', 'explode please [S5]']]);
    ids.S6 = await ended(campaignId, 'S6', [['agent', 'Hello.'], ['contact', 'weird answer [S6]']]);
    const done = await eventually(async () => { const s = await status(campaignId); return s.state === 'done' && s.counts.total === 7 ? s : undefined; }, { what: 'S5 and S6 processed', timeoutMs: 30_000 });
    assert.deepEqual([done.counts.done, done.counts.failed], [6, 1]);
    assert.equal(done.lastError, 'LLM answered 500: The server had an error while processing your request. Sorry about that!');
    assert.equal(asked('S5').length, 6, 'two attempts, each asked three times (two retries of a 5xx)');
    const r = await resultsOf(campaignId);
    assert.equal(r.has('S5'), false);
    assert.equal(r.get('S6')?.values.satisfaction, null);
    assert.equal(r.get('S6')?.errors.satisfaction, '9 is outside the range 1 to 5');
    assert.equal(r.get('S6')?.values.intent, 'refuses', 'the other metrics keep their values');
  });

  it('Stop: the running calculation stops (answers on their way are dropped), and sessions ending while stopped wait', async () => {
    mood = 'v2';
    exploding = false;
    let release!: () => void;
    hold = new Promise<void>((r) => { release = r; });
    const before = llm.requests.length;
    const started = await f.rt.analysis.runs.start(f.ws, campaignId, 'recalculate');
    assert.equal(started.state, 'running');
    assert.equal(started.run?.kind, 'recalculate');
    assert.equal(started.counts.total, 7, 'every session within the depth');
    // The worker's four slots are all waiting on the endpoint.
    await eventually(() => held === 4 || undefined, { what: 'four completions on their way' });
    assert.equal((await status(campaignId)).counts.running, 4);
    await assert.rejects(f.rt.analysis.runs.start(f.ws, campaignId, 'continue'), /a calculation is running: Stop it first/);
    const stopped = await f.rt.analysis.runs.stop(f.ws, campaignId);
    assert.equal(stopped.state, 'stopped');
    assert.ok(stopped.run?.stoppedAt);
    assert.equal(stopped.counts.pending + stopped.counts.running, 0);
    assert.ok(stopped.counts.cancelled >= 4, JSON.stringify(stopped.counts));
    const asking = llm.requests.length - before;
    release();
    hold = null;
    ids.S8 = await ended(campaignId, 'S8', [['agent', 'Hello.'], ['contact', 'Please call me back on Friday [S8]']]);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(llm.requests.length - before, asking, 'nothing more was asked after Stop');
    assert.equal(asked('S8').length, 0, 'a session that ended after Stop is not analysed');
    assert.equal((await status(campaignId)).state, 'stopped');
    const r = await resultsOf(campaignId);
    assert.equal(r.get('S1')?.values.satisfaction, 4, "the stopped calculation's answers were not stored");
  });

  it('Continue calculation: only the sessions and metrics without a result of the current YAML (a new metric, a failed or stopped session, one that ended while stopped)', async () => {
    await upload(campaignId, V2, 2);
    const before = llm.requests.length;
    const started = await f.rt.analysis.runs.start(f.ws, campaignId, 'continue');
    assert.equal(started.counts.total, 8, 'every session lacks the new metric');
    const done = await settled(campaignId, 'Continue calculation done');
    assert.equal(done.run?.kind, 'continue');
    assert.equal(done.counts.done, 8);
    const now = llm.requests.slice(before);
    const keysOf = (tag: string) => now.filter((r) => tagOf(r) === tag).map(keysAsked);
    for (const tag of ['S1', 'S2', 'S3', 'S6', 'S7']) assert.deepEqual(keysOf(tag), [['callback']], `${tag}: only the new metric`);
    for (const tag of ['S5', 'S8']) assert.deepEqual(keysOf(tag), [['intent', 'satisfaction', 'interested', 'summary', 'callback']], `${tag}: never analysed, all metrics`);
    assert.deepEqual(keysOf('S4'), [], 'no messages: not asked');
    const r = await resultsOf(campaignId);
    assert.equal(r.get('S1')?.values.satisfaction, 4, 'metrics analysed before are kept');
    assert.equal(r.get('S8')?.values.callback, true);
    assert.equal(r.get('S8')?.values.satisfaction, 5);

    const again = llm.requests.length;
    assert.equal((await f.rt.analysis.runs.start(f.ws, campaignId, 'continue')).counts.total, 0, 'nothing left to continue');
    await settled(campaignId, 'an empty Continue done');
    assert.equal(llm.requests.length, again);
  });

  it('Recalculate: the whole current YAML over the sessions within its depth, replacing their results (a metric the file dropped goes)', async () => {
    await f.db.pool.query(`UPDATE dispatch_sessions SET ended_at = now() - interval '40 days' WHERE session_id = $1`, [ids.S7]);
    await upload(campaignId, V3, 3);
    const before = llm.requests.length;
    const started = await f.rt.analysis.runs.start(f.ws, campaignId, 'recalculate');
    assert.equal(started.counts.total, 7, 'S7 ended 40 days ago, beyond depth: 30');
    assert.equal(started.run?.yamlVersion, 3);
    await settled(campaignId, 'Recalculate done');
    const now = llm.requests.slice(before);
    assert.equal(now.filter((r) => tagOf(r) === 'S7').length, 0);
    for (const tag of ['S1', 'S2', 'S3', 'S5', 'S6', 'S8']) assert.deepEqual(now.filter((r) => tagOf(r) === tag).map(keysAsked), [['intent', 'satisfaction', 'interested', 'callback']], tag);
    const r = await resultsOf(campaignId);
    assert.deepEqual(r.get('S1')?.values, { intent: 'will_pay', satisfaction: 5, interested: true, callback: false }, 'replaced, without the dropped summary');
    const { rows } = await f.db.pool.query(`SELECT metric, value FROM dispatch_analysis_results WHERE session_id = $1 ORDER BY metric`, [ids.S7]);
    assert.deepEqual(rows.map((x) => [x.metric, x.value]), [['callback', false], ['intent', 'will_pay'], ['interested', true], ['satisfaction', 4], ['summary', 'Contact S7 talked about the invoice and']],
      'beyond the depth: left as it was');
    const agg = await f.rt.analysis.results.aggregates(f.ws, campaignId);
    assert.deepEqual(agg.metrics.map((x) => x.code), ['intent', 'satisfaction', 'interested', 'callback']);
  });

  it('a restart continues a running calculation, and takes over the claim of a worker that died', async () => {
    await f.rt.analysis.worker.stop(); // the service is down; sessions still end and join the queue
    const other = await f.campaign([], { llmIntegration: 'openai' });
    await upload(other, V1, 1);
    for (const tag of ['R1', 'R2', 'R3', 'R4']) await ended(other, tag, [['agent', 'Hello.'], ['contact', `Friday [${tag}]`]]);
    const waiting = await eventually(async () => { const s = await status(other); return s.counts.pending === 4 ? s : undefined; }, { what: 'four sessions queued' });
    assert.equal(waiting.state, 'running');
    // One claim of a worker that died an hour ago, mid-completion.
    await f.db.pool.query(`UPDATE dispatch_analysis_queue SET status = 'claimed', claimed_by = 'analysis-dead', claimed_at = now() - interval '1 hour', attempts = 1
                            WHERE session_id = (SELECT session_id FROM dispatch_analysis_queue WHERE campaign_id = $1 LIMIT 1)`, [other]);
    const restarted = new DeepAnalysis(f.db.pool, f.store, f.rt.integrations, { pollMs: 50, leaseMs: 60_000 });
    restarted.worker.start();
    try {
      const done = await settled(other, 'the calculation finished after the restart');
      assert.deepEqual([done.counts.done, done.counts.total], [4, 4]);
      for (const tag of ['R1', 'R2', 'R3', 'R4']) assert.equal(asked(tag).length, 1, `${tag} asked once`);
    } finally {
      await restarted.worker.stop();
    }
  });

  it('two replicas never analyse the same session twice', async () => {
    const other = await f.campaign([], { llmIntegration: 'openai' });
    await upload(other, V1, 1);
    const tags = Array.from({ length: 12 }, (_, i) => `W${i}`);
    for (const tag of tags) await ended(other, tag, [['agent', 'Hello.'], ['contact', `Friday [${tag}]`]]);
    await eventually(async () => (await status(other)).counts.pending === 12 || undefined, { what: 'twelve sessions queued' });
    delayMs = 150;
    const replicas = [0, 1].map(() => {
      const pool = useSystemScope(new Pool({ connectionString: f.db.url, max: 4 }));
      return { pool, analysis: new DeepAnalysis(pool, f.store, f.rt.integrations, { pollMs: 20, concurrency: 3 }) };
    });
    const seen = new Set<string>();
    try {
      for (const r of replicas) r.analysis.worker.start();
      const done = await eventually(async () => {
        const { rows } = await f.db.pool.query<{ claimed_by: string }>(`SELECT DISTINCT claimed_by FROM dispatch_analysis_queue WHERE campaign_id = $1 AND claimed_by IS NOT NULL`, [other]);
        for (const row of rows) seen.add(row.claimed_by);
        const s: AnalysisStatusView = await status(other);
        return s.state === 'done' ? s : undefined;
      }, { what: 'the twelve sessions analysed by two replicas', intervalMs: 20 });
      assert.equal(done.counts.done, 12);
      assert.deepEqual([...seen].sort(), replicas.map((r) => r.analysis.worker.id).sort(), 'both replicas worked');
      for (const tag of tags) assert.equal(asked(tag).length, 1, `${tag} asked once`);
    } finally {
      delayMs = 0;
      for (const r of replicas) {
        await r.analysis.worker.stop();
        await r.pool.end();
      }
    }
  });
});
