import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@herald/testing';
import { chatCampaign, converse, startLlmStandIn, startTelegramStandIn, type ChatContact } from './chat-campaign';
import { file, form, startDistributed, startEmbedded } from './harness';
import { api } from './walking-skeleton';

// Deep analysis through the gateway's API: real conversations (Telegram,
// scripted agent, provider webhooks) analysed by the campaign's LLM
// integration, a loopback stand-in for an OpenAI-compatible
// chat-completions endpoint (chat-campaign.ts), in both modes.

const YAML_V1 = `title: Reminder conversations
depth: 7
metrics:
  - code: intent
    name: Payment intent
    type: enum
    values: [will_pay, disputes, refuses]
    question: What does the contact intend to do?
  - code: satisfaction
    name: Client satisfaction
    type: scale
    question: How satisfied did the contact sound?
  - code: interested
    name: Interested in paying
    type: boolean
    question: Did the contact show interest in paying?
`;
const YAML_V2 = `${YAML_V1}  - code: callback
    name: Asked for a call
    type: boolean
    question: Did the contact ask to be called back?
`;

const CONTACTS: ChatContact[] = [
  { objectId: 'A1', name: 'Ann', chatId: 7001, says: 'I can pay on Friday' },
  { objectId: 'B2', name: 'Bob', chatId: 7002, says: 'This bill is wrong, call me' },
  { objectId: 'C3', name: 'Cy', chatId: 7003, says: 'busy, no' },
];

function scenario(mode: 'embedded' | 'distributed') {
  describe(`deep analysis through the gateway (${mode})`, () => {
    let base: string;
    let stop: () => Promise<void>;
    let logs: () => string;
    let mood = 1;
    const llm = startLlmStandIn((key, t) => {
      const friday = /friday/i.test(t);
      const wrong = /wrong/i.test(t);
      return { intent: friday ? 'will_pay' : wrong ? 'disputes' : 'refuses', satisfaction: friday ? 3 + mood : wrong ? 2 : 1, interested: friday, callback: /call me/.test(t) }[key];
    }, 'sk-e2e');
    const telegram = startTelegramStandIn();
    let campaign: Awaited<ReturnType<typeof chatCampaign>>;
    let sessions: Record<string, string>;
    const call = (method: string, path: string, body?: unknown, as?: string) => api(base, method, path, body, as);
    const status = async () => (await call('GET', `/api/campaigns/${campaign.campaignId}/analytics/status`)).body;
    const done = (what: string) => eventually(async () => { const s = await status(); return s.state === 'done' ? s : undefined; }, { what, timeoutMs: 60_000 });

    before(async () => {
      if (mode === 'embedded') {
        const p = await startEmbedded();
        ({ base, stop, logs } = { base: p.base, stop: p.stop, logs: () => p.herald.output() });
      } else {
        // Credentials (the LLM key) are sealed with the platform's key: the distributed mode needs one given.
        const p = await startDistributed({ prefix: 'herald_da', env: { HERALD_SECRET_KEY: randomBytes(32).toString('base64') } });
        ({ base, stop, logs } = { base: p.base, stop: p.stop, logs: p.logs });
      }
    });
    after(async () => {
      await stop?.();
      await (await llm).close();
      await (await telegram).close();
    });

    it('analyses each conversation as it ends with the campaign LLM (credentials from the integration, structured output, a 429 waited out), and serves status, aggregates and sessions', async (t) => {
      try {
        const [l, tg] = [await llm, await telegram];
        const bad = await call('PUT', '/api/campaigns/00000000-0000-4000-8000-000000000000/analytics', form({ file: file('m.yaml', YAML_V1) }));
        assert.equal(bad.status, 404);
        campaign = await chatCampaign(base, { name: `Reminders ${mode}`, llmUrl: l.url, apiKey: 'sk-e2e', telegramUrl: tg.url, yaml: null, contacts: CONTACTS });
        const refused = await call('PUT', `/api/campaigns/${campaign.campaignId}/analytics`, form({ file: file('m.yaml', YAML_V1.replace('type: scale', 'type: stars')) }));
        assert.deepEqual([refused.status, refused.body.field], [400, 'metrics[1].type'], JSON.stringify(refused.body));
        assert.match(refused.body.message, /must be one of boolean, number, scale, enum, text \(line 11\)/);
        assert.equal((await status()).state, 'none');
        const uploaded = await call('PUT', `/api/campaigns/${campaign.campaignId}/analytics`, form({ file: file('metrics.yaml', YAML_V1) }));
        assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
        assert.equal((await status()).state, 'idle');

        sessions = await converse(base, campaign, tg, CONTACTS);
        const s = await eventually(async () => { const x = await status(); return x.state === 'done' && x.counts.done === 3 ? x : undefined; }, { what: 'three sessions analysed', timeoutMs: 60_000 });
        assert.equal(s.run.kind, 'live');
        assert.deepEqual(s.counts, { total: 3, pending: 0, running: 0, done: 3, failed: 0, cancelled: 0 });
        assert.equal(l.requests.filter((r) => r.transcript.includes('Friday')).length, 1, 'one completion per session');
        assert.equal(l.refused, 1, 'one 429, waited out');
        const ann = l.requests.find((r) => r.transcript.includes('Friday'))!;
        assert.equal(ann.authorization, 'Bearer sk-e2e', "the integration's (encrypted) key");
        assert.equal(ann.model, 'gpt-e2e');
        assert.equal(ann.responseFormat.type, 'json_schema');
        assert.deepEqual(ann.keys, ['intent', 'satisfaction', 'interested']);
        assert.equal(ann.transcript, 'agent: Hello Ann, this is Herald Bank about your invoice.\ncontact: I can pay on Friday\nagent: Thank you, noted.');

        const results = (await call('GET', `/api/campaigns/${campaign.campaignId}/analytics/results`)).body;
        assert.equal(results.sessions, 3);
        assert.equal(results.title, 'Reminder conversations');
        const m = Object.fromEntries(results.metrics.map((x: { code: string }) => [x.code, x]));
        assert.deepEqual(m.intent.counts, [{ value: 'will_pay', count: 1 }, { value: 'disputes', count: 1 }, { value: 'refuses', count: 1 }]);
        assert.deepEqual([m.satisfaction.mean, m.satisfaction.minValue, m.satisfaction.maxValue], [2.333, 1, 4]);
        assert.deepEqual([m.interested.trueCount, m.interested.falseCount], [1, 2]);
        const page = (await call('GET', `/api/campaigns/${campaign.campaignId}/analytics/sessions?limit=2`)).body;
        assert.equal(page.items.length, 2);
        const rest = (await call('GET', `/api/campaigns/${campaign.campaignId}/analytics/sessions?after=${page.next}`)).body;
        const all = [...page.items, ...rest.items];
        assert.deepEqual(all.map((x: { sessionId: string }) => x.sessionId).sort(), Object.values(sessions).sort(), 'the sessions behind the communications');
        const a1 = all.find((x: { contactKey: string }) => x.contactKey === 'o:A1');
        assert.deepEqual(a1.values, { intent: 'will_pay', satisfaction: 4, interested: true });
        const transcript = (await call('GET', `/api/sessions/${a1.sessionId}`)).body;
        assert.equal(transcript.messages[1].content, 'I can pay on Friday', 'the session link leads to the transcript');
      } catch (error) {
        t.diagnostic(logs().slice(-4000));
        throw error;
      }
    });

    it('Continue calculation asks only for a new metric; Recalculate asks for everything and Stop stops it; roles and refusals', async (t) => {
      try {
        const l = await llm;
        const id = campaign.campaignId;
        const viewer = (await call('POST', '/api/api-keys', { name: `viewer ${mode}`, role: 'viewer' })).body.key as string;
        assert.equal((await call('GET', `/api/campaigns/${id}/analytics/status`, undefined, viewer)).status, 200);
        assert.equal((await call('GET', `/api/campaigns/${id}/analytics/results`, undefined, viewer)).status, 200);
        const denied = await call('POST', `/api/campaigns/${id}/analytics/recalculate`, undefined, viewer);
        assert.equal(denied.status, 403);
        assert.match(denied.body.message, /campaign_manager/);
        assert.equal((await call('POST', '/api/campaigns/00000000-0000-4000-8000-000000000000/analytics/continue')).status, 404);

        assert.equal((await call('PUT', `/api/campaigns/${id}/analytics`, form({ file: file('metrics.yaml', YAML_V2) }))).status, 200);
        const before = l.requests.length;
        const continued = await call('POST', `/api/campaigns/${id}/analytics/continue`);
        assert.equal(continued.status, 202, JSON.stringify(continued.body));
        assert.equal(continued.body.run.kind, 'continue');
        await done('Continue calculation');
        const asked = l.requests.slice(before);
        assert.equal(asked.length, 3);
        for (const r of asked) assert.deepEqual(r.keys, ['callback'], 'only the new metric');
        const bob = (await call('GET', `/api/campaigns/${id}/analytics/sessions`)).body.items.find((x: { contactKey: string }) => x.contactKey === 'o:B2');
        assert.deepEqual(bob.values, { intent: 'disputes', satisfaction: 2, interested: false, callback: true });

        mood = 2;
        const release = l.hold();
        const recalculated = await call('POST', `/api/campaigns/${id}/analytics/recalculate`);
        assert.equal(recalculated.status, 202, JSON.stringify(recalculated.body));
        await eventually(() => l.held() > 0 || undefined, { what: 'a completion on its way' });
        const progress = await status();
        assert.equal(progress.state, 'running');
        assert.equal(progress.counts.total, 3);
        assert.equal((await call('POST', `/api/campaigns/${id}/analytics/continue`)).status, 409, 'one calculation at a time');
        const stopped = await call('POST', `/api/campaigns/${id}/analytics/stop`);
        assert.deepEqual([stopped.status, stopped.body.state], [200, 'stopped']);
        release();
        await new Promise((r) => setTimeout(r, 500));
        assert.equal((await status()).state, 'stopped');
        const ann = (await call('GET', `/api/campaigns/${id}/analytics/sessions`)).body.items.find((x: { contactKey: string }) => x.contactKey === 'o:A1');
        assert.equal(ann.values.satisfaction, 4, 'the stopped calculation stored nothing');

        const again = l.requests.length;
        assert.equal((await call('POST', `/api/campaigns/${id}/analytics/recalculate`)).status, 202);
        const finished = await done('Recalculate');
        assert.equal(finished.counts.done, 3);
        assert.ok(l.requests.slice(again).every((r) => r.keys.length === 4), 'every metric asked again');
        const m = Object.fromEntries((await call('GET', `/api/campaigns/${id}/analytics/results`)).body.metrics.map((x: { code: string }) => [x.code, x]));
        assert.equal(m.satisfaction.maxValue, 5, 'results replaced');
        assert.deepEqual([m.callback.trueCount, m.callback.falseCount], [1, 2]);

        const other = (await call('POST', '/api/campaigns', { name: `No LLM ${mode}`, description: 'YAML only' })).body.id;
        assert.equal((await call('PUT', `/api/campaigns/${other}/analytics`, form({ file: file('metrics.yaml', YAML_V1) }))).status, 200);
        const noLlm = await call('POST', `/api/campaigns/${other}/analytics/recalculate`);
        assert.equal(noLlm.status, 409);
        assert.match(noLlm.body.message, /LLM Settings/);
      } catch (error) {
        t.diagnostic(logs().slice(-4000));
        throw error;
      }
    });
  });
}

scenario('embedded');
scenario('distributed');
