import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '@herald/testing';
import { file, form } from './harness';
import { api } from './walking-skeleton';

/**
 * Conversations for deep analysis, made through the API only: a Telegram
 * campaign whose scripted agent greets each contact and ends the
 * conversation at their first answer, driven by provider webhooks; and two
 * loopback servers standing in for the Telegram Bot API (sendMessage) and
 * for an OpenAI-compatible chat-completions endpoint.
 */

export interface ChatContact { objectId: string; name: string; chatId: number; says: string }

interface Loopback { url: string; close(): Promise<void> }

async function listen(handle: (body: unknown, headers: Record<string, string | string[] | undefined>, url: string, res: ServerResponse) => void | Promise<void>): Promise<Loopback> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let body: unknown = null;
      try { body = JSON.parse(Buffer.concat(parts).toString('utf8')); } catch { body = null; }
      Promise.resolve(handle(body, req.headers, req.url ?? '/', res)).catch((e) => { res.statusCode = 500; res.end(String(e)); });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/** The Telegram Bot API's sendMessage: records what the bot sends to which chat. */
export async function startTelegramStandIn(): Promise<Loopback & { sent: { chat: string; text: string }[] }> {
  const sent: { chat: string; text: string }[] = [];
  let n = 0;
  const server = await listen((body, _headers, _url, res) => {
    const b = body as { chat_id: string; text: string };
    sent.push({ chat: String(b.chat_id), text: b.text });
    json(res, 200, { ok: true, result: { message_id: ++n, chat: { id: Number(b.chat_id), type: 'private' }, date: 1, text: b.text } });
  });
  return { ...server, sent };
}

export interface LlmRequest { authorization: string | undefined; model: string; keys: string[]; system: string; transcript: string; responseFormat: { type: string } }

/**
 * An OpenAI-compatible chat-completions endpoint (POST /v1/chat/completions
 * with a Bearer key, {model, messages, response_format: {type:
 * "json_schema", json_schema: {schema: {required: [...]}}}}, answered
 * {id, object: "chat.completion", choices: [{message: {role, content}}]}).
 * It answers the keys the schema requires with `answer`; a transcript
 * containing "busy" is first refused with 429 rate_limit_exceeded and
 * Retry-After: 1; `hold()` keeps answers back until released.
 */
export async function startLlmStandIn(answer: (key: string, transcript: string) => unknown, apiKey: string): Promise<Loopback & {
  requests: LlmRequest[]; refused: number; hold(): () => void; held(): number;
}> {
  const requests: LlmRequest[] = [];
  const limited = new Set<string>();
  let gate: Promise<void> | null = null;
  let waiting = 0;
  const state = { refused: 0 };
  const server = await listen(async (body, headers, url, res) => {
    if (url !== '/v1/chat/completions') return json(res, 404, { error: { message: `Invalid URL (POST ${url})`, type: 'invalid_request_error', param: null, code: null } });
    if (headers.authorization !== `Bearer ${apiKey}`) return json(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    const chat = body as { model: string; messages: { content: string }[]; response_format: { type: string; json_schema?: { schema: { required: string[] } } } };
    const transcript = chat.messages[1]?.content ?? '';
    const keys = chat.response_format.json_schema?.schema.required ?? [];
    requests.push({ authorization: headers.authorization as string, model: chat.model, keys, system: chat.messages[0].content, transcript, responseFormat: chat.response_format });
    if (/busy/.test(transcript) && !limited.has(transcript)) {
      limited.add(transcript);
      state.refused++;
      return json(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } }, { 'retry-after': '1' });
    }
    if (gate) {
      waiting++;
      await gate;
      waiting--;
    }
    const content = JSON.stringify(Object.fromEntries(keys.map((k) => [k, answer(k, transcript)])));
    json(res, 200, {
      id: `chatcmpl-${requests.length}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: chat.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
    });
  });
  return {
    ...server, requests,
    get refused() { return state.refused; },
    hold() {
      let release!: () => void;
      gate = new Promise<void>((r) => { release = r; });
      return () => { gate = null; release(); };
    },
    held: () => waiting,
  };
}

const DATA_LOAD = `
async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    now = datetime.now(timezone.utc)
    contact.communications.append(Communication(name="Chat", stage_name="1 Chat", start_date=now, end_date=now + timedelta(hours=1)))
    contact.current_stage = "1 Chat"
    return contact
`;

const AGGREGATION = `
async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    return contact
`;

/**
 * A running Telegram campaign with a YAML analytics file and LLM Settings
 * naming an llm integration of the stand-in; returns its id and the
 * workspace's. Integration and agent names are suffixed so that several
 * campaigns live in one workspace.
 */
export async function chatCampaign(base: string, o: { name: string; llmUrl: string; apiKey: string; telegramUrl: string; yaml: string | null; contacts: ChatContact[] }): Promise<{ campaignId: string; workspaceId: string; integration: string }> {
  const call = async (method: string, path: string, body?: unknown, expected = [200, 201, 202]) => {
    const r = await api(base, method, path, body);
    assert.ok(expected.includes(r.status), `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const suffix = o.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const tg = `tg-${suffix}`;
  const llm = `llm-${suffix}`;
  const workspaceId = (await call('GET', '/api/me')).workspace.id as string;
  await call('POST', '/api/integrations', { name: tg, type: 'telegram', config: { botToken: '42:token', webhookSecret: 'hook-secret', apiUrl: o.telegramUrl } });
  await call('POST', '/api/integrations', { name: llm, type: 'llm', config: { baseUrl: `${o.llmUrl}/v1`, apiKey: o.apiKey, model: 'gpt-e2e' } });
  await call('POST', '/api/agents', {
    name: `bot-${suffix}`, backend: 'scripted', channels: ['telegram'], integrations: [tg],
    scripted: { greeting: 'Hello {{name}}, this is Herald Bank about your invoice.', rules: [{ match: '.', reply: 'Thank you, noted.', end: true }] },
  });
  const campaignId = (await call('POST', '/api/campaigns', { name: o.name, description: 'Telegram reminders with deep analysis' })).id as string;
  await call('POST', `/api/campaigns/${campaignId}/stages`, { name: '1 Chat', description: 'Telegram', channel: 'telegram', agent: `bot-${suffix}` });
  for (const [type, code] of [['DATA_LOAD', DATA_LOAD], ['AGGREGATION', AGGREGATION]] as const) {
    await call('POST', `/api/campaigns/${campaignId}/strategies`, form({ name: type, description: 'chat', type, functionName: 'run', file: file(`${type.toLowerCase()}.py`, code, 'text/x-python') }));
  }
  await call('PATCH', `/api/campaigns/${campaignId}/settings`, { llmIntegration: llm });
  if (o.yaml) await call('PUT', `/api/campaigns/${campaignId}/analytics`, form({ file: file('metrics.yaml', o.yaml, 'application/yaml') }));
  const csv = ['object_id,name,phone,telegram_chat_id', ...o.contacts.map((c, i) => `${c.objectId},${c.name},+1202555${String(1000 + i)},${c.chatId}`)].join('\n');
  const upload = await call('POST', `/api/campaigns/${campaignId}/contacts/uploads`, form({ file: file('contacts.csv', csv, 'text/csv') }));
  await eventually(async () => (await api(base, 'GET', `/api/campaigns/${campaignId}/contacts/uploads/${upload.id}`)).body.state === 'completed', { what: 'the contacts upload', timeoutMs: 60_000 });
  await eventually(async () => (await api(base, 'GET', `/api/campaigns/${campaignId}`)).body.status === 'CONFIGURED', { what: 'status CONFIGURED' });
  await call('POST', `/api/campaigns/${campaignId}/start`);
  return { campaignId, workspaceId, integration: tg };
}

/** Each contact answers the greeting once (a Telegram webhook); resolves when every conversation has ended. Returns the session ids by object id. */
export async function converse(base: string, c: { campaignId: string; workspaceId: string; integration: string }, telegram: { sent: { chat: string }[] }, contacts: ChatContact[]): Promise<Record<string, string>> {
  for (const [i, contact] of contacts.entries()) {
    await eventually(() => telegram.sent.some((m) => m.chat === String(contact.chatId)) || undefined, { what: `the greeting to ${contact.name}`, timeoutMs: 60_000 });
    const update = { update_id: Date.now() + i, message: { message_id: 1000 + i, chat: { id: contact.chatId, type: 'private' }, date: Math.floor(Date.now() / 1000), text: contact.says } };
    const res = await fetch(`${base}/api/webhooks/${c.workspaceId}/${c.integration}`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'hook-secret' }, body: JSON.stringify(update),
    });
    assert.equal(res.status, 200, await res.text());
  }
  const sessions = await eventually(async () => {
    const r = await api(base, 'GET', `/api/sessions?campaignId=${c.campaignId}&status=closed`);
    return r.body.length === contacts.length ? (r.body as { id: string; contactKey: string }[]) : undefined;
  }, { what: 'every conversation ended', timeoutMs: 60_000 });
  return Object.fromEntries(sessions.map((s) => [s.contactKey.replace(/^o:/, ''), s.id]));
}
