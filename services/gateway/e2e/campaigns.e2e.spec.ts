import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, TEST_ADMIN_KEY } from '@herald/testing';
import { file, form, startDistributed, startEmbedded, type DistributedPlatform } from './harness';
import { api } from './walking-skeleton';

// Campaign management through the gateway's REST API, embedded mode (issue 4).
const LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    if contact.parameters.get("fail") == "yes":
        raise ValueError("bad row for " + contact.object_id)
    logger.info("loaded " + contact.object_id)
    return contact
`;
const LOAD_V2 = LOAD.replace('loaded', 'loaded v2');
const YAML_OK = 'depth: 30\nmetrics:\n  - name: satisfaction\n    question: How satisfied is the client?\n    type: scale\n';

describe('campaign management API (embedded)', () => {
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let base: string;
  const call = (method: string, path: string, body?: unknown) => api(base, method, path, body);

  before(async () => {
    platform = await startEmbedded();
    base = platform.base;
  });
  after(async () => platform?.stop());

  it('manages a campaign from creation to export, import and deletion', async (t) => {
    try {
      await scenario();
    } catch (error) {
      t.diagnostic(platform.herald.output().slice(-4000));
      throw error;
    }
  });

  it("checks a stage's agent against the registry (exists, serves the channel, knows the Start state) and LLM Settings against the integrations", async (t) => {
    try {
      await referencesScenario();
    } catch (error) {
      t.diagnostic(platform.herald.output().slice(-4000));
      throw error;
    }
  });

  async function referencesScenario() {
    for (const integration of [
      { name: 'mail-2', type: 'smtp', config: { host: '127.0.0.1', port: 2525, from: 'collections@example.com' } },
      { name: 'tg', type: 'telegram', config: { botToken: 'bot-token', webhookSecret: 'hook-secret' } },
      { name: 'gpt', type: 'llm', config: { baseUrl: 'http://127.0.0.1:9/v1', model: 'gpt-test' } },
    ]) {
      const r = await call('POST', '/api/integrations', integration);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const rules = { rules: [{ match: '.*', reply: 'Thank you', end: true }] };
    for (const agent of [
      // Serves Twilio by channel, with workflow states.
      { name: 'voice-bot', backend: 'scripted', channels: ['twilio'], states: [{ name: 'greet', start: true }, { name: 'negotiate' }], scripted: rules },
      // Serves Telegram through an integration of that type; declares no states.
      { name: 'tg-bot', backend: 'scripted', integrations: ['tg'], scripted: rules },
      // Serves both email channels through its SMTP integration.
      { name: 'mailer', backend: 'scripted', integrations: ['mail-2'], scripted: rules },
    ]) {
      const r = await call('POST', '/api/agents', agent);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const c = (await call('POST', '/api/campaigns', { name: 'References', description: 'agents and integrations' })).body;
    const stages = `/api/campaigns/${c.id}/stages`;
    const refused = async (body: unknown, field: string, message: RegExp, method = 'POST', path = stages) => {
      const r = await call(method, path, body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      assert.equal(r.body.field, field, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    };
    const call1 = { name: '1 Call', description: 'Voice', channel: 'twilio' };

    // The agent must exist in the workspace and serve the stage's channel.
    await refused({ ...call1, agent: 'ghost', settings: { startState: 'greet' } }, 'agent', /agent "ghost" does not exist in this workspace/);
    await refused({ ...call1, agent: 'tg-bot', settings: { startState: 'greet' } }, 'agent', /agent "tg-bot" does not serve the Twilio channel/);
    await refused({ name: '2 Push', description: 'Push', channel: 'mobile_push', agent: 'voice-bot' }, 'agent', /no push notification configuration/);
    await refused({ name: '3 Mail', description: 'Mail', channel: 'email_communication', agent: 'tg-bot', settings: { subject: 's', template: 't' } }, 'agent', /does not serve the Email Communication channel/);
    // A Start state must be one of the agent's workflow states (any of them, not only a start state).
    await refused({ ...call1, agent: 'voice-bot', settings: { startState: 'nowhere' } }, 'settings.startState', /"nowhere" is not a workflow state of agent "voice-bot" \(its states: greet, negotiate\)/);
    const voice = await call('POST', stages, { ...call1, agent: 'voice-bot', settings: { startState: 'negotiate' } });
    assert.equal(voice.status, 201, JSON.stringify(voice.body));
    // By integration type; an agent without states takes any Start state; a Human stage names a role, not a registry agent.
    for (const stage of [
      { name: '2 Chat', description: 'Telegram', channel: 'telegram', agent: 'tg-bot', settings: { startState: 'anything' } },
      { name: '3 Mail', description: 'Mail', channel: 'email_communication', agent: 'mailer', settings: { subject: 's', template: 't' } },
      { name: '4 Desk', description: 'People', channel: 'human', agent: 'Senior collector' },
    ]) {
      const r = await call('POST', stages, stage);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }

    // A/B variants: each variant's agent (its own, or the stage's when it names none) is checked against the variant's channel.
    const abBase = { name: '5 AB', description: 'Split', channel: 'telegram', agent: 'tg-bot' };
    await refused({ ...abBase, variants: [{ label: 'Voice', weight: 1, channel: 'twilio', agent: 'tg-bot', settings: { startState: 'greet' } }] }, 'variants[0].agent', /agent "tg-bot" does not serve the Twilio channel/);
    await refused({ ...abBase, variants: [{ label: 'Voice', weight: 1, channel: 'twilio', agent: 'voice-bot', settings: { startState: 'bogus' } }] }, 'variants[0].settings.startState', /not a workflow state/);
    await refused({ ...call1, name: '5 AB', agent: 'voice-bot', settings: { startState: 'greet' }, variants: [{ label: 'WA', weight: 1, channel: 'whatsapp', settings: { startState: 'greet', templateName: 'reminder' } }] },
      'variants[0].agent', /the stage's agent "voice-bot" does not serve the WhatsApp channel/);
    const ab = await call('POST', stages, { ...abBase, variants: [{ label: 'Voice', group: 'experimental', weight: 1, channel: 'twilio', agent: 'voice-bot', settings: { startState: 'greet' } }] });
    assert.equal(ab.status, 201, JSON.stringify(ab.body));

    // Editing a stage is checked the same way, and a refused edit changes nothing.
    const voiceId = voice.body.stages[0].id;
    await refused({ ...call1, agent: 'ghost', settings: { startState: 'greet' } }, 'agent', /does not exist/, 'PUT', `${stages}/${voiceId}`);
    assert.equal((await call('GET', `/api/campaigns/${c.id}`)).body.stages[0].agent, 'voice-bot');

    // LLM Settings: an existing language-model integration, else 400 naming the field; null clears the choice.
    const settings = `/api/campaigns/${c.id}/settings`;
    await refused({ llmIntegration: 'nope' }, 'llmIntegration', /no integration named "nope" in this workspace/, 'PATCH', settings);
    await refused({ llmIntegration: 'tg' }, 'llmIntegration', /"tg" is a telegram integration, not a language model/, 'PATCH', settings);
    assert.equal((await call('PATCH', settings, { llmIntegration: 'gpt' })).body.settings.llmIntegration, 'gpt');
    assert.equal((await call('PATCH', settings, { llmIntegration: null })).body.settings.llmIntegration, null);
    assert.equal((await call('PATCH', settings, { llmIntegration: 'gpt' })).status, 200);

    // Import checks the same references in the installation it lands in.
    const exported = (await call('POST', `/api/campaigns/${c.id}/export`)).body;
    const importIt = () => call('POST', '/api/campaigns/import', form({ secretKey: exported.secretKey, file: file(exported.fileName, Buffer.from(exported.archive, 'base64')) }));
    assert.equal((await importIt()).status, 201, 'its agents and integration exist here');
    assert.equal((await call('DELETE', '/api/agents/tg-bot')).status, 204);
    const orphan = await importIt();
    assert.equal(orphan.status, 400, JSON.stringify(orphan.body));
    assert.equal(orphan.body.field, 'campaign.json.stages[1].agent');
    assert.match(orphan.body.message, /agent "tg-bot" does not exist in this workspace/);
  }

  async function scenario() {
    const a = (await call('POST', '/api/campaigns', { name: 'Pre-collection', description: 'Remind before the due date', labels: ['collections'] })).body;
    await call('POST', '/api/campaigns', { name: 'Feedback', description: 'Ask how we did' });

    // Rename and labels; the list searches name, description and labels.
    const renamed = await call('PATCH', `/api/campaigns/${a.id}`, { name: 'Pre-collection Q4', labels: ['q4', 'collections'] });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'Pre-collection Q4');
    const found = await eventually(async () => {
      const r = await call('GET', '/api/campaigns?search=Q4');
      return r.body.length === 1 && r.body[0].name === 'Pre-collection Q4' ? r.body : undefined;
    }, { what: 'the renamed campaign in the list' });
    assert.equal(found[0].id, a.id);
    assert.equal((await call('PATCH', `/api/campaigns/${a.id}`, { name: '' })).body.field, 'name');

    // Stages: channel rules name the field; A/B variants; edit; delete.
    const twilio = await call('POST', `/api/campaigns/${a.id}/stages`, { name: '1 Call', description: 'Voice', channel: 'twilio', settings: { startState: 'greet' } });
    assert.equal(twilio.status, 400);
    assert.equal(twilio.body.field, 'agent');
    const email = { integration: 'mail', subject: 'Hello {{name}}', template: 'Long text' };
    const stage = await call('POST', `/api/campaigns/${a.id}/stages`, {
      name: '1 Reminder', description: 'Email', channel: 'email_notification', settings: email,
      variants: [{ label: 'Control', group: 'control', weight: 3, settings: email }, { label: 'Short', weight: 1, settings: { ...email, template: 'Short text' } }],
    });
    assert.equal(stage.status, 201, JSON.stringify(stage.body));
    const stageId = stage.body.stages[0].id;
    assert.deepEqual(stage.body.stages[0].variants.map((v: { label: string; weight: number }) => [v.label, v.weight]), [['Control', 3], ['Short', 1]]);
    const badVariant = await call('PUT', `/api/campaigns/${a.id}/stages/${stageId}`, { name: '1 Reminder', description: 'Email', channel: 'email_notification', settings: email, variants: [{ label: 'X', weight: 1, settings: { integration: 'mail' } }] });
    assert.equal(badVariant.status, 400);
    assert.equal(badVariant.body.field, 'variants[0].settings.subject');
    const edited = await call('PUT', `/api/campaigns/${a.id}/stages/${stageId}`, { name: '1 Reminder', description: 'Email, edited', channel: 'email_notification', settings: email });
    assert.equal(edited.body.stages[0].description, 'Email, edited');
    await call('POST', `/api/campaigns/${a.id}/stages`, { name: '9 Temp', description: 'to delete', channel: 'no_communication' });
    const tempId = (await call('GET', `/api/campaigns/${a.id}`)).body.stages.find((s: { name: string }) => s.name === '9 Temp').id;
    assert.deepEqual((await call('DELETE', `/api/campaigns/${a.id}/stages/${tempId}`)).body.stages.map((s: { name: string }) => s.name), ['1 Reminder']);

    // Strategies: one per type with the seeds' explanation; replace file makes a new version; show and download code.
    const strategy = (name: string, code: string) => form({ name, description: 'Loads contacts', type: 'DATA_LOAD', functionName: 'run', file: file('load.py', code) });
    const added = await call('POST', `/api/campaigns/${a.id}/strategies`, strategy('Load', LOAD));
    assert.equal(added.status, 201, JSON.stringify(added.body));
    const strategyId = added.body.strategies[0].id;
    const second = await call('POST', `/api/campaigns/${a.id}/strategies`, strategy('Load again', LOAD));
    assert.equal(second.status, 409);
    assert.match(second.body.message, /Each strategy type can be used once/);
    const replaced = await call('PUT', `/api/campaigns/${a.id}/strategies/${strategyId}/file`, form({ file: file('load_v2.py', LOAD_V2) }));
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.strategies[0].version, 2);
    const brokenReplace = await call('PUT', `/api/campaigns/${a.id}/strategies/${strategyId}/file`, form({ file: file('load_v3.py', 'def run(:\n') }));
    assert.equal(brokenReplace.status, 400);
    assert.match(brokenReplace.body.message, /line 1/);
    const code = await call('GET', `/api/campaigns/${a.id}/strategies/${strategyId}/code`);
    assert.deepEqual([code.body.version, code.body.fileName, code.body.code], [2, 'load_v2.py', LOAD_V2]);
    const download = await fetch(`${base}/api/campaigns/${a.id}/strategies/${strategyId}/file`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename="load_v2.py"/);
    assert.equal(await download.text(), LOAD_V2);
    assert.equal((await call('PATCH', `/api/campaigns/${a.id}/strategies/${strategyId}`, { functionName: 'nothere' })).status, 400);

    // Settings, results, YAML analytics.
    const badSettings = await call('PATCH', `/api/campaigns/${a.id}/settings`, { defaultTimezone: 'Mars/Base' });
    assert.equal(badSettings.body.field, 'defaultTimezone');
    const llm = await call('POST', '/api/integrations', { name: 'openai', type: 'llm', config: { baseUrl: 'http://127.0.0.1:9/v1', model: 'gpt-test' } });
    assert.equal(llm.status, 201, JSON.stringify(llm.body));
    const settings = await call('PATCH', `/api/campaigns/${a.id}/settings`, { defaultTimezone: 'Europe/Berlin', defaultWindowMinutes: 120, llmIntegration: 'openai' });
    assert.deepEqual(settings.body.settings, { defaultTimezone: 'Europe/Berlin', defaultWindowMinutes: 120, llmIntegration: 'openai' });
    const results = await call('PUT', `/api/campaigns/${a.id}/results`, { results: [{ code: 'promised_date', name: 'Promised date', description: 'When the client promised to pay' }] });
    assert.deepEqual(results.body.resultDefinitions.map((r: { code: string }) => r.code), ['ResultFlag', 'ResultDatetime', 'promised_date']);
    const badYaml = await call('PUT', `/api/campaigns/${a.id}/analytics`, form({ file: file('metrics.yaml', 'depth: 30\nmetrics: [unclosed\n') }));
    assert.equal(badYaml.status, 400);
    assert.match(badYaml.body.message, /line \d/);
    assert.equal((await call('GET', `/api/campaigns/${a.id}/analytics`)).status, 404, 'Download YAML is unavailable before an upload');
    const yaml = await call('PUT', `/api/campaigns/${a.id}/analytics`, form({ file: file('metrics.yaml', YAML_OK) }));
    assert.deepEqual(yaml.body.analytics, { fileName: 'metrics.yaml', version: 1 });
    assert.equal(await (await fetch(`${base}/api/campaigns/${a.id}/analytics`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })).text(), YAML_OK);

    // Contacts go through the Data Load strategy; its output and errors reach the campaign log.
    const upload = await call('POST', `/api/campaigns/${a.id}/contacts/uploads`, form({ file: file('contacts.csv', 'object_id,name,email,fail\nA1,Ann,ann@example.com,no\nA2,Bob,bob@example.com,yes\n') }));
    assert.equal(upload.status, 202, JSON.stringify(upload.body));
    await eventually(async () => ((await call('GET', `/api/campaigns/${a.id}/contacts/uploads/${upload.body.id}`)).body.state === 'completed' ? true : undefined), { what: 'the upload' });
    const logs = await call('GET', `/api/campaigns/${a.id}/logs`);
    assert.ok(logs.body.items.some((l: { message: string; level: string }) => l.level === 'INFO' && l.message.includes('loaded v2 A1')), JSON.stringify(logs.body));
    const errors = await call('GET', `/api/campaigns/${a.id}/logs?level=ERROR`);
    assert.equal(errors.body.items.length, 1, JSON.stringify(errors.body));
    assert.equal(errors.body.items[0].contactKey, 'o:A2');
    assert.match(errors.body.items[0].message, /bad row for A2/);
    assert.match(JSON.stringify(errors.body.items[0].details), /line \d/);
    const forAnn = await call('GET', `/api/campaigns/${a.id}/logs?contact=o:A1`);
    assert.ok(forAnn.body.items.length >= 1 && forAnn.body.items.every((l: { contactKey: string }) => l.contactKey === 'o:A1'));
    const page = await call('GET', `/api/campaigns/${a.id}/logs?limit=1`);
    assert.equal(page.body.items.length, 1);
    const next = await call('GET', `/api/campaigns/${a.id}/logs?limit=1&after=${page.body.next}`);
    assert.notEqual(next.body.items[0].id, page.body.items[0].id);

    // Export and import: wrong key and changed bytes are refused; the right key recreates the configuration.
    const exported = await call('POST', `/api/campaigns/${a.id}/export`);
    assert.equal(exported.status, 200);
    assert.ok(exported.body.secretKey.length >= 40);
    const archive = Buffer.from(exported.body.archive, 'base64');
    const importWith = (data: Buffer, secretKey: string) => call('POST', '/api/campaigns/import', form({ secretKey, file: file(exported.body.fileName, data) }));
    const wrong = await importWith(archive, 'not-the-key');
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.field, 'secretKey');
    const tampered = Buffer.from(archive);
    tampered[tampered.length - 40] ^= 0xff;
    assert.equal((await importWith(tampered, exported.body.secretKey)).status, 400);
    const imported = await importWith(archive, exported.body.secretKey);
    assert.equal(imported.status, 201, JSON.stringify(imported.body));
    assert.notEqual(imported.body.id, a.id);
    assert.equal(imported.body.name, 'Pre-collection Q4');
    assert.equal(imported.body.status, 'CREATED', 'contacts are not part of the configuration');
    assert.deepEqual(imported.body.stages.map((s: { name: string }) => s.name), ['1 Reminder']);
    assert.deepEqual(imported.body.settings, settings.body.settings);
    assert.deepEqual(imported.body.resultDefinitions, results.body.resultDefinitions);
    assert.deepEqual(imported.body.analytics, { fileName: 'metrics.yaml', version: 1 });
    const importedCode = await call('GET', `/api/campaigns/${imported.body.id}/strategies/${imported.body.strategies[0].id}/code`);
    assert.equal(importedCode.body.code, LOAD_V2);

    // Delete: refused while running; allowed when stopped; gone afterwards.
    const started = await call('POST', `/api/campaigns/${a.id}/start`);
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const refusedDelete = await call('DELETE', `/api/campaigns/${a.id}`);
    assert.equal(refusedDelete.status, 409);
    assert.match(refusedDelete.body.message, /running campaign cannot be deleted/);
    assert.equal((await call('POST', `/api/campaigns/${a.id}/stop`)).body.status, 'STOPPED');
    assert.equal((await call('DELETE', `/api/campaigns/${a.id}`)).status, 204);
    assert.equal((await call('GET', `/api/campaigns/${a.id}`)).status, 404);
    await eventually(async () => ((await call('GET', '/api/campaigns')).body.every((c: { id: string }) => c.id !== a.id) ? true : undefined), { what: 'the list without the deleted campaign' });
  }
});

// The same rules in the distributed mode: the campaigns service asks dispatch's registry over gRPC.
describe('stage agents and LLM Settings checked over gRPC (distributed)', () => {
  let platform: DistributedPlatform;
  const call = (method: string, path: string, body?: unknown) => api(platform.base, method, path, body);

  before(async () => {
    platform = await startDistributed({ prefix: 'herald_e2e_refs' });
  });
  after(async () => platform?.stop());

  it('refuses an unknown agent, an agent of another channel, an unknown Start state and a missing LLM integration', async (t) => {
    try {
      const agent = await call('POST', '/api/agents', { name: 'voice-bot', backend: 'scripted', channels: ['twilio'], states: [{ name: 'greet', start: true }], scripted: { rules: [{ match: '.*', end: true }] } });
      assert.equal(agent.status, 201, JSON.stringify(agent.body));
      const c = (await call('POST', '/api/campaigns', { name: 'Distributed', description: 'references over gRPC' })).body;
      const stage = (agentName: string, startState: string, channel = 'twilio') => call('POST', `/api/campaigns/${c.id}/stages`, { name: '1 Call', description: 'Voice', channel, agent: agentName, settings: { startState } });
      const ghost = await stage('ghost', 'greet');
      assert.deepEqual([ghost.status, ghost.body.field], [400, 'agent'], JSON.stringify(ghost.body));
      assert.match(ghost.body.message, /does not exist in this workspace/);
      const telegram = await stage('voice-bot', 'greet', 'telegram');
      assert.deepEqual([telegram.status, telegram.body.field], [400, 'agent'], JSON.stringify(telegram.body));
      const state = await stage('voice-bot', 'nowhere');
      assert.deepEqual([state.status, state.body.field], [400, 'settings.startState'], JSON.stringify(state.body));
      assert.equal((await stage('voice-bot', 'greet')).status, 201);
      const llm = await call('PATCH', `/api/campaigns/${c.id}/settings`, { llmIntegration: 'gpt' });
      assert.deepEqual([llm.status, llm.body.field], [400, 'llmIntegration'], JSON.stringify(llm.body));
      assert.equal((await call('POST', '/api/integrations', { name: 'gpt', type: 'llm', config: { baseUrl: 'http://127.0.0.1:9/v1', model: 'm' } })).status, 201);
      assert.equal((await call('PATCH', `/api/campaigns/${c.id}/settings`, { llmIntegration: 'gpt' })).body.settings.llmIntegration, 'gpt');
    } catch (error) {
      t.diagnostic(platform.logs());
      throw error;
    }
  });
});
