import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn } from '../../testing/dispatch-fixture.spec';

/*
 * Stands in for Twilio's REST API (api.twilio.com): POST
 * /2010-04-01/Accounts/{AccountSid}/Calls.json with HTTP Basic auth
 * (AccountSid:AuthToken) and form fields To, From, Url, StatusCallback
 * answers 201 {sid, status: "queued"}; a wrong auth answers 401 {code:
 * 20003}. The test then plays Twilio's side of the call: it POSTs the
 * callbacks (answer, speech results, status) signed as Twilio signs them
 * (X-Twilio-Signature = base64 HMAC-SHA1 over the URL and the sorted POST
 * parameters, keyed with the auth token) and follows the TwiML answers.
 */
describe('Twilio voice (Calls API, TwiML, signed callbacks)', () => {
  let f: DispatchFixture;
  let api: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  let calls = 0;
  const TOKEN = 'auth-token';

  before(async () => {
    api = await startStandIn((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from(`AC123:${TOKEN}`).toString('base64')}`) return sendJson(res, 401, { code: 20003, message: 'Authenticate', status: 401 });
      if (req.url === '/2010-04-01/Accounts/AC123/Calls.json') return sendJson(res, 201, { sid: `CA${++calls}`, status: 'queued' });
      sendJson(res, 200, { sid: req.url.split('/').pop()!.replace('.json', ''), status: 'completed' });
    });
    f = await DispatchFixture.create({ publicUrl: 'https://herald.example.com' });
    await f.rt.integrations.configure(f.ws, { name: 'tw', type: 'twilio', config: { accountSid: 'AC123', authToken: TOKEN, from: '+15550009999', apiUrl: api.url } });
    await f.rt.agents.save(f.ws, { name: 'Voice', backend: 'scripted', channels: ['twilio'], integrations: ['tw'], states: [{ name: 'intro', start: true }],
      scripted: { greeting: 'Hello {{name}}, this is Herald Bank.', rules: [{ match: 'pay', reply: 'Thank you, goodbye.', end: true, results: { OutcomeStatus: 'PROMISED' } }], fallback: 'Could you repeat that?' } });
    campaignId = await f.campaign([{ name: 'Call', description: 'd', channel: 'twilio', agent: 'Voice', settings: { integration: 'tw', startState: 'intro' } }]);
  });
  after(async () => {
    await f.close();
    await api.close();
  });

  /** Twilio's signing, written from its documentation (not the adapter's code). */
  function signature(url: string, params: Record<string, string>): string {
    const data = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
    return createHmac('sha1', TOKEN).update(data).digest('base64');
  }
  async function callback(url: string, params: Record<string, string>, sig = signature(url, params)) {
    const query = Object.fromEntries(new URL(url).searchParams);
    const reply = await f.rt.webhooks.handle({ workspaceId: f.ws, integration: 'tw', method: 'POST', url, headers: { 'x-twilio-signature': sig }, query, body: Buffer.from(new URLSearchParams(params).toString()) });
    return reply;
  }
  const unxml = (s: string) => s.replace(/&amp;/g, '&');
  const messages = async (e: RecordedEvent) => (await f.events(e.streamId, 'SessionMessageAdded')).map((x) => (x.data as { role: string; content: string }));

  it('places the call, speaks the agent through TwiML, hears the contact, and ends when the agent says goodbye', async () => {
    const start = await f.started(campaignId, 'Call', 'twilio', { name: 'Ann', phone: '+15550001234' }, { agent: 'Voice' });
    await f.rt.handler.handle(start);
    await f.rt.handler.handle(start);
    const placed = api.requests.filter((r) => r.url.endsWith('/Calls.json'));
    assert.equal(placed.length, 1);
    const form = new URLSearchParams(placed[0].body);
    assert.equal(form.get('To'), '+15550001234');
    assert.equal(form.get('From'), '+15550009999');
    assert.deepEqual(form.getAll('StatusCallbackEvent'), ['initiated', 'ringing', 'answered', 'completed']);
    const answerUrl = form.get('Url')!;
    assert.match(answerUrl, /^https:\/\/herald\.example\.com\/api\/webhooks\/ws-[\w]+\/tw\?session=[\w-]+&step=answer$/);

    const call = { CallSid: 'CA1', AccountSid: 'AC123', From: '+15550009999', To: '+15550001234', CallStatus: 'in-progress' };
    const answer = await callback(answerUrl, call);
    assert.equal(answer.contentType, 'text/xml');
    assert.match(answer.body, /<Gather input="speech" action="[^"]+step=gather&amp;turn=0"[^>]*><Say[^>]*>Hello Ann, this is Herald Bank\.<\/Say><\/Gather>/);
    const gatherUrl = unxml(/action="([^"]+)"/.exec(answer.body)![1]);

    let twiml = (await callback(gatherUrl, { ...call, SpeechResult: 'who are you', Confidence: '0.9' })).body;
    for (let i = 0; i < 100 && /<Redirect[^>]*>[^<]*step=next/.test(twiml); i++) {
      const next = unxml(/<Redirect[^>]*>([^<]+)<\/Redirect>/.exec(twiml)![1]);
      twiml = (await callback(next, call)).body;
      if (/<Pause/.test(twiml)) await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(twiml, /<Say[^>]*>Could you repeat that\?<\/Say>/);
    assert.match(twiml, /turn=1/);
    // Twilio retrying the same callback changes nothing.
    await callback(gatherUrl, { ...call, SpeechResult: 'who are you', Confidence: '0.9' });

    const gather1 = unxml(/action="([^"]+)"/.exec(twiml)![1]);
    twiml = (await callback(gather1, { ...call, SpeechResult: 'I will pay on Monday', Confidence: '0.8' })).body;
    for (let i = 0; i < 100 && /step=next/.test(twiml); i++) {
      twiml = (await callback(unxml(/<Redirect[^>]*>([^<]+)<\/Redirect>/.exec(twiml)![1]), call)).body;
      if (/<Pause/.test(twiml)) await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(twiml, /<Say[^>]*>Thank you, goodbye\.<\/Say><Hangup\/>/);
    await callback(answerUrl.replace('step=answer', 'step=status'), { ...call, CallStatus: 'completed', CallDuration: '42' });
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.deepEqual([end.status, end.sessionStatus, (end.sessionResults as { OutcomeStatus: string }).OutcomeStatus], ['COMPLETED', 'ENDED_BY_AGENT', 'PROMISED']);
    assert.deepEqual((await messages(start)).map((m) => `${m.role}: ${m.content}`), [
      'agent: Hello Ann, this is Herald Bank.', 'contact: who are you', 'agent: Could you repeat that?', 'contact: I will pay on Monday', 'agent: Thank you, goodbye.']);
  });

  it('refuses callbacks with a missing or wrong X-Twilio-Signature (403) and changes nothing', async () => {
    const start = await f.started(campaignId, 'Call', 'twilio', { phone: '+15550001235' }, { agent: 'Voice' });
    await f.rt.handler.handle(start);
    const url = new URLSearchParams(api.requests.filter((r) => r.url.endsWith('/Calls.json')).pop()!.body).get('StatusCallback')!;
    const params = { CallSid: 'CA2', CallStatus: 'completed' };
    assert.equal((await callback(url, params, '')).status, 403);
    assert.equal((await callback(url, params, signature(url, { ...params, CallStatus: 'busy' }))).status, 403);
    assert.equal((await callback(url.replace('herald.example.com', 'evil.example.com'), params, signature(url, params))).status, 403);
    assert.deepEqual(await f.ends(start.streamId), []);
    assert.equal((await callback(url, { CallSid: 'CA2', CallStatus: 'no-answer' })).status, 200);
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.deepEqual([end.status, end.sessionStatus], ['INTERRUPTED', 'NO_ANSWER']);
  });
});
