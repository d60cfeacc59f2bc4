import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn } from '../../testing/dispatch-fixture.spec';

/*
 * Stands in for the Telegram Bot API (api.telegram.org): POST
 * /bot<token>/sendMessage answers {ok: true, result: Message}; an unknown
 * token {ok: false, error_code: 401}; flood control 429 with
 * parameters.retry_after (seconds). Updates arrive by webhook with the
 * X-Telegram-Bot-Api-Secret-Token header given to setWebhook.
 */
describe('Telegram (Bot API) with a scripted agent', () => {
  let f: DispatchFixture;
  let tg: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  let n = 0;
  let floodOnce = true;

  before(async () => {
    tg = await startStandIn((req, res) => {
      if (!req.url.startsWith('/bot42:token/')) return sendJson(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const body = req.json as { chat_id: string; text: string };
      if (body.chat_id === '777' && floodOnce) {
        floodOnce = false;
        return sendJson(res, 429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
      }
      sendJson(res, 200, { ok: true, result: { message_id: ++n, chat: { id: Number(body.chat_id), type: 'private' }, date: 1, text: body.text } });
    });
    f = await DispatchFixture.create();
    await f.rt.integrations.configure(f.ws, { name: 'tg', type: 'telegram', config: { botToken: '42:token', webhookSecret: 'hook-secret', apiUrl: tg.url } });
    await f.rt.agents.save(f.ws, { name: 'Bot', backend: 'scripted', channels: ['telegram'], integrations: ['tg'],
      scripted: { rules: [{ match: 'paid', reply: 'Great, thanks!', end: true, results: { OutcomeStatus: 'PAID' } }], fallback: 'Sorry, when can you pay {{amount}}?' } });
    campaignId = await f.campaign([{ name: 'TG', description: 'd', channel: 'telegram', agent: 'Bot', settings: { startPhrase: 'Hello {{name}}, {{amount}} is due.' } }]);
  });
  after(async () => {
    await f.close();
    await tg.close();
  });

  const toChat = (chat: string) => tg.requests.filter((r) => (r.json as { chat_id?: string })?.chat_id === chat);
  const update = (updateId: number, chat: number, messageId: number, text: string) =>
    JSON.stringify({ update_id: updateId, message: { message_id: messageId, from: { id: chat, is_bot: false, first_name: 'Ann' }, chat: { id: chat, type: 'private' }, date: 1700000000, text } });
  const webhook = (body: string, secret?: string) => f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'tg', method: 'POST', url: '', headers: secret ? { 'x-telegram-bot-api-secret-token': secret } : {}, query: {}, body: Buffer.from(body) });
  const messages = async (e: RecordedEvent) => (await f.events(e.streamId, 'SessionMessageAdded')).map((x) => (x.data as { role: string; content: string }));

  it('opens with the start phrase, answers each update once, and ends by the agent', async () => {
    const start = await f.started(campaignId, 'TG', 'telegram', { name: 'Ann', parameters: { telegram_chat_id: '5001', amount: '80 EUR' } }, { agent: 'Bot' });
    await f.rt.handler.handle(start);
    assert.deepEqual(toChat('5001').map((r) => (r.json as { text: string }).text), ['Hello Ann, 80 EUR is due.']);
    const hello = update(9001, 5001, 11, 'hi');
    for (let i = 0; i < 5; i++) assert.equal((await webhook(hello, 'hook-secret')).status, 200);
    await eventually(async () => (await messages(start)).length === 3 || undefined, { what: 'the answer' });
    assert.equal(toChat('5001').length, 2);
    assert.equal((toChat('5001')[1].json as { text: string }).text, 'Sorry, when can you pay 80 EUR?');
    await webhook(update(9002, 5001, 12, 'I paid yesterday'), 'hook-secret');
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.deepEqual([end.status, (end.sessionResults as { OutcomeStatus: string }).OutcomeStatus], ['COMPLETED', 'PAID']);
    assert.deepEqual((await messages(start)).map((m) => m.content), ['Hello Ann, 80 EUR is due.', 'hi', 'Sorry, when can you pay 80 EUR?', 'I paid yesterday', 'Great, thanks!']);
  });

  it('refuses updates without the secret token header (403) and records nothing', async () => {
    const start = await f.started(campaignId, 'TG', 'telegram', { parameters: { telegram_chat_id: '5002' } }, { agent: 'Bot' });
    await f.rt.handler.handle(start);
    assert.equal((await webhook(update(9100, 5002, 1, 'paid'))).status, 403);
    assert.equal((await webhook(update(9101, 5002, 2, 'paid'), 'hook-secreT')).status, 403);
    assert.equal((await messages(start)).length, 1);
  });

  it('waits out a 429 retry_after and still delivers, once', async () => {
    const start = await f.started(campaignId, 'TG', 'telegram', { parameters: { telegram_chat_id: '777' } }, { agent: 'Bot' });
    await f.rt.handler.handle(start);
    assert.equal(toChat('777').length, 2, 'refused once, then sent');
    assert.deepEqual(await f.ends(start.streamId), []);
  });

  it('ends with ERROR when the contact has no chat id', async () => {
    const start = await f.started(campaignId, 'TG', 'telegram', {}, { agent: 'Bot' });
    await f.rt.handler.handle(start);
    assert.match(String((await f.ends(start.streamId))[0].result), /telegram_chat_id/);
  });
});
