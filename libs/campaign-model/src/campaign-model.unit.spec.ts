import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, newEvent, type RecordedEvent } from '@herald/contracts';
import {
  agentReferences, checkAgentReferences, checkLlmIntegration, decide, rebuild, statusOf, START_WITHOUT_CONTACTS, UPLOAD_IN_PROGRESS,
  type CampaignChange, type CampaignState, type RegistryAgent,
} from './index';

// Given events, when a command, then events (or a refusal).
function given(...changes: CampaignChange[]): CampaignState {
  const events = changes.map((c, i) => ({ ...newEvent(c.type, c.data, { workspaceId: 'ws' }), streamId: 'campaign-1', revision: i, position: i + 1 }) as RecordedEvent);
  return rebuild(events)!;
}
const created = decide.createCampaign({ campaignId: 'c1', name: 'Pre-collection', description: 'Remind' })[0];
const dataLoad = decide.addStrategy(given(created), { name: 'Load', description: 'd', type: 'DATA_LOAD', functionName: 'run', fileName: 'load.py', code: 'x' })[0];
const uploaded: CampaignChange[] = [
  { type: 'ContactsUploadStarted', data: { uploadId: 'u1', fileName: 'c.csv' } },
  { type: 'ContactsUploadCompleted', data: { uploadId: 'u1', rowsRead: 2, imported: 2, created: 2, rejected: 0 } },
];

describe('campaign decisions', () => {
  it('requires name and description, naming the field', () => {
    assert.throws(() => decide.createCampaign({ campaignId: 'c', name: ' ', description: 'd' }), (e: unknown) => e instanceof DomainError && e.field === 'name');
    assert.throws(() => decide.createCampaign({ campaignId: 'c', name: 'n', description: '' }), (e: unknown) => e instanceof DomainError && e.field === 'description');
  });

  it('is CREATED until it has contacts and a Data Load strategy, then CONFIGURED', () => {
    assert.equal(statusOf(given(created)).status, 'CREATED');
    assert.match(statusOf(given(created)).message, /contacts are and a Data Load strategy is missing/);
    assert.equal(statusOf(given(created, dataLoad)).status, 'CREATED');
    assert.equal(statusOf(given(created, ...uploaded)).status, 'CREATED');
    assert.equal(statusOf(given(created, dataLoad, ...uploaded)).status, 'CONFIGURED');
  });

  it('refuses Start without contacts with the seeds reason, then runs, stops and resumes', () => {
    assert.throws(() => decide.start(given(created, dataLoad)), new RegExp(START_WITHOUT_CONTACTS.slice(0, 30)));
    const ready = given(created, dataLoad, ...uploaded);
    const started = decide.start(ready);
    assert.deepEqual(started.map((e) => e.type), ['CampaignStarted']);
    assert.equal(statusOf(given(created, dataLoad, ...uploaded, ...started)).status, 'RUNNING');
    const stopped = given(created, dataLoad, ...uploaded, ...started, ...decide.stop(given(created, dataLoad, ...uploaded, ...started)));
    assert.equal(statusOf(stopped).status, 'STOPPED');
    assert.deepEqual(decide.start(stopped).map((e) => e.type), ['CampaignStarted']);
  });

  it('allows one upload at a time with the seeds message', () => {
    const busy = given(created, uploaded[0]);
    assert.throws(() => decide.startUpload(busy, { uploadId: 'u2', fileName: 'x.csv' }), (e: unknown) => e instanceof DomainError && e.message === UPLOAD_IN_PROGRESS);
    assert.deepEqual(decide.completeUpload(given(created, ...uploaded), { uploadId: 'u1', rowsRead: 2, imported: 2, created: 2, rejected: 0 }), [], 'a repeated completion changes nothing');
  });

  it('counts a running upload\'s contacts as it goes, each once, so Start need not wait for the whole file', () => {
    const started: CampaignChange = { type: 'ContactsUploadStarted', data: { uploadId: 'u1', fileName: 'c.csv' } };
    const first = decide.progressUpload(given(created, dataLoad, started), { uploadId: 'u1', created: 500 });
    assert.deepEqual(first, [{ type: 'ContactsUploadProgressed', data: { uploadId: 'u1', created: 500 } }]);
    const midway = given(created, dataLoad, started, ...first);
    assert.equal(midway.contactCount, 500);
    assert.equal(statusOf(midway).status, 'CONFIGURED');
    assert.deepEqual(decide.start(midway).map((e) => e.type), ['CampaignStarted'], 'Start is accepted while the upload runs');
    assert.deepEqual(decide.progressUpload(midway, { uploadId: 'u1', created: 500 }), [], 'the same total again changes nothing');
    assert.deepEqual(decide.progressUpload(midway, { uploadId: 'u1', created: 400 }), [], 'a lower total (an older report) changes nothing');
    assert.deepEqual(decide.progressUpload(midway, { uploadId: 'u2', created: 900 }), [], 'another upload\'s report changes nothing');
    const later: CampaignChange = { type: 'ContactsUploadProgressed', data: { uploadId: 'u1', created: 1200 } };
    const done: CampaignChange = { type: 'ContactsUploadCompleted', data: { uploadId: 'u1', rowsRead: 1500, imported: 1500, created: 1500, rejected: 0 } };
    assert.equal(given(created, dataLoad, started, ...first, later).contactCount, 1200);
    assert.equal(given(created, dataLoad, started, ...first, later, done).contactCount, 1500, 'the completion adds only what progress had not counted');
    const next: CampaignChange = { type: 'ContactsUploadStarted', data: { uploadId: 'u2', fileName: 'd.csv' } };
    const secondDone: CampaignChange = { type: 'ContactsUploadCompleted', data: { uploadId: 'u2', rowsRead: 10, imported: 10, created: 10, rejected: 0 } };
    assert.equal(given(created, dataLoad, started, ...first, later, done, next, secondDone).contactCount, 1510, 'a later upload without progress adds its total');
  });

  it('allows one strategy of each type and validates stages per channel', () => {
    assert.throws(() => decide.addStrategy(given(created, dataLoad), { name: 'n', description: 'd', type: 'DATA_LOAD', functionName: 'run', fileName: 'a.py', code: '' }), /once per campaign/);
    assert.throws(() => decide.addStage(given(created), { name: 'S', description: 'd', channel: 'whatsapp', settings: { startState: 'x' } }), (e: unknown) => e instanceof DomainError && e.field === 'settings.templateName');
    assert.throws(() => decide.addStage(given(created), { name: 'S', description: 'd', channel: 'fax' }), /unknown channel/);
    assert.throws(() => decide.addStage(given(created), { name: 'S', description: 'd', channel: 'twilio', settings: { startState: 'greet' } }), (e: unknown) => e instanceof DomainError && e.field === 'agent');
    assert.throws(() => decide.addStage(given(created), { name: 'S', description: 'd', channel: 'no_communication', agent: 'bot' }), /has no agent/);
    const stage = decide.addStage(given(created), { name: 'S', description: 'd', channel: 'twilio', agent: 'voice-bot', settings: { startState: 'greet' } });
    assert.throws(() => decide.addStage(given(created, ...stage), { name: 'S', description: 'd', channel: 'human' }), /already exists/);
  });

  it('validates A/B variants field by field and keeps them on the stage', () => {
    const base = { name: 'Mail', description: 'd', channel: 'email_notification', settings: { integration: 'm', subject: 's', template: 't' } };
    assert.throws(() => decide.addStage(given(created), { ...base, variants: [{ label: 'B', weight: 0 }] }), (e: unknown) => e instanceof DomainError && e.field === 'variants[0].weight');
    assert.throws(() => decide.addStage(given(created), { ...base, variants: [{ label: 'B', weight: 1, channel: 'telegram' }] }), (e: unknown) => e instanceof DomainError && e.field === 'variants[0].agent');
    assert.throws(() => decide.addStage(given(created), { ...base, variants: [{ label: 'B', weight: 1, settings: { integration: 'm', subject: 's' } }] }), (e: unknown) => e instanceof DomainError && e.field === 'variants[0].settings.template');
    assert.throws(() => decide.addStage(given(created), { ...base, variants: [{ label: 'B', weight: 1, settings: base.settings }, { label: 'B', weight: 2, settings: base.settings }] }), /used twice/);
    const [added] = decide.addStage(given(created), { ...base, variants: [{ label: 'Control', group: 'control', weight: 3, settings: base.settings }, { label: 'Short', weight: 1, settings: { ...base.settings, template: 'short' } }] });
    const stage = given(created, added).stages[0];
    assert.deepEqual(stage.variants?.map((v) => [v.label, v.group, v.weight, v.channel]), [['Control', 'control', 3, 'email_notification'], ['Short', 'experimental', 1, 'email_notification']]);
  });

  it('renames, labels, edits and removes stages and strategies, and deletes only when not running', () => {
    const stage = decide.addStage(given(created), { name: 'S1', description: 'd', channel: 'human' });
    const state = given(created, dataLoad, ...stage);
    const renamed = given(created, dataLoad, ...stage, ...decide.updateDetails(state, { name: 'New name', labels: ['a', 'a', ' b '] }));
    assert.equal(renamed.name, 'New name');
    assert.deepEqual(renamed.labels, ['a', 'b']);
    assert.deepEqual(decide.updateDetails(renamed, { name: 'New name' }), [], 'no change, no event');
    const stageId = state.stages[0].id;
    const edited = given(created, dataLoad, ...stage, ...decide.updateStage(state, stageId, { name: 'S1', description: 'changed', channel: 'no_communication' }));
    assert.equal(edited.stages[0].channel, 'no_communication');
    assert.equal(given(created, dataLoad, ...stage, ...decide.removeStage(state, stageId)).stages.length, 0);
    assert.throws(() => decide.removeStage(state, 'nope'), /not found/);
    const strategyId = state.strategies[0].id;
    const replaced = decide.replaceStrategyFile(state, strategyId, { fileName: 'v2.py', code: 'y' });
    assert.equal((replaced[0].data as { version: number }).version, 2);
    assert.throws(() => decide.replaceStrategyFile(state, strategyId, { fileName: 'v2.txt', code: 'y' }), (e: unknown) => e instanceof DomainError && e.field === 'file');
    assert.throws(() => decide.updateStrategy(state, strategyId, { functionName: '1run' }), (e: unknown) => e instanceof DomainError && e.field === 'functionName');
    const running = given(created, dataLoad, ...uploaded, { type: 'CampaignStarted', data: {} });
    assert.throws(() => decide.deleteCampaign(running), /cannot be deleted/);
    assert.deepEqual(decide.deleteCampaign(state).map((e) => e.type), ['CampaignDeleted']);
  });

  it('validates settings and result definitions, keeping the built-in results', () => {
    const state = given(created);
    assert.throws(() => decide.changeSettings(state, { defaultWindowMinutes: 0 }), (e: unknown) => e instanceof DomainError && e.field === 'defaultWindowMinutes');
    assert.throws(() => decide.changeSettings(state, { defaultTimezone: 'Mars/Olympus' }), (e: unknown) => e instanceof DomainError && e.field === 'defaultTimezone');
    assert.throws(() => decide.changeSettings(state, { egressAllowlist: ['ok.example.com', 'http://x'] }), (e: unknown) => e instanceof DomainError && e.field === 'egressAllowlist[1]');
    const changed = given(created, ...decide.changeSettings(state, { defaultTimezone: 'Europe/Berlin', llmIntegration: 'gpt' }));
    assert.deepEqual(changed.settings, { defaultTimezone: 'Europe/Berlin', llmIntegration: 'gpt' });
    assert.throws(() => decide.setResultDefinitions(state, [{ code: 'ResultFlag', name: 'x' }]), /already defined/);
    assert.throws(() => decide.setResultDefinitions(state, [{ code: 'paid', name: '' }]), (e: unknown) => e instanceof DomainError && e.field === 'results[0].name');
    const defs = given(created, ...decide.setResultDefinitions(state, [{ code: 'paid', name: 'Paid', description: 'Paid in full' }]));
    assert.deepEqual(defs.resultDefinitions, [{ code: 'paid', name: 'Paid', description: 'Paid in full' }]);
  });

  it('goes to ERROR with its message, refuses Start until a force stop', () => {
    const running: CampaignChange[] = [{ type: 'CampaignStarted', data: {} }];
    const failed = [...running, ...decide.fail(given(created, dataLoad, ...uploaded, ...running), 'Integration "mail" is not configured.')];
    const state = given(created, dataLoad, ...uploaded, ...failed);
    assert.deepEqual(statusOf(state), { status: 'ERROR', message: 'Integration "mail" is not configured.' });
    assert.deepEqual(decide.fail(state, 'Integration "mail" is not configured.'), [], 'the same report twice changes nothing');
    assert.throws(() => decide.start(state), /Force stop/);
    const stopped = given(created, dataLoad, ...uploaded, ...failed, ...decide.forceStop(state));
    assert.equal(statusOf(stopped).status, 'STOPPED');
    assert.deepEqual(decide.start(stopped).map((e) => e.type), ['CampaignStarted']);
  });

  it('is FINISHED when the scheduler says nothing is left, and Start runs it again', () => {
    const running: CampaignChange[] = [{ type: 'CampaignStarted', data: {} }];
    const state = given(created, dataLoad, ...uploaded, ...running);
    const finished = given(created, dataLoad, ...uploaded, ...running, ...decide.finish(state));
    assert.equal(statusOf(finished).status, 'FINISHED');
    assert.deepEqual(decide.finish(finished), []);
  });

  it("judges a stage's registry agents: exists, serves the channel by channel or integration type, knows the Start state", () => {
    const voice: RegistryAgent = { name: 'voice', channels: ['twilio'], states: [{ name: 'greet' }, { name: 'negotiate' }] };
    const tg: RegistryAgent = { name: 'tg', integrations: ['bot', 'mail'] };
    const agents = new Map<string, RegistryAgent | null>([['voice', voice], ['tg', tg], ['ghost', null], ['push', { name: 'push', hasPush: true }]]);
    const integrations = [{ name: 'bot', type: 'telegram' }, { name: 'mail', type: 'smtp' }];
    const check = (stage: Parameters<typeof decide.validateStage>[0], prefix = '') => checkAgentReferences(agentReferences(decide.validateStage(stage)), agents, integrations, prefix);
    const field = (f: string) => (e: unknown) => e instanceof DomainError && e.field === f;
    const twilio = { name: 'S', description: 'd', channel: 'twilio', settings: { startState: 'greet' } };
    check({ ...twilio, agent: 'voice' });
    check({ ...twilio, agent: 'voice', settings: { startState: 'negotiate' } });
    assert.throws(() => check({ ...twilio, agent: 'ghost' }), field('agent'));
    assert.throws(() => check({ ...twilio, agent: 'ghost' }, 'campaign.json.stages[2].'), field('campaign.json.stages[2].agent'));
    assert.throws(() => check({ ...twilio, agent: 'tg' }), /does not serve the Twilio channel/);
    assert.throws(() => check({ ...twilio, agent: 'voice', settings: { startState: 'Greet' } }), field('settings.startState'));
    check({ name: 'S', description: 'd', channel: 'telegram', agent: 'tg', settings: { startState: 'any' } }); // by its telegram integration; no states declared
    check({ name: 'S', description: 'd', channel: 'email_communication', agent: 'tg', settings: { subject: 's', template: 't' } }); // by its smtp integration
    assert.throws(() => check({ name: 'S', description: 'd', channel: 'mobile_push', agent: 'voice' }), /no push notification configuration/);
    check({ name: 'S', description: 'd', channel: 'mobile_push', agent: 'push' });
    check({ name: 'S', description: 'd', channel: 'human', agent: 'Senior collector' }); // a role, not a registry agent
    assert.deepEqual(agentReferences(decide.validateStage({ name: 'S', description: 'd', channel: 'human', agent: 'ghost' })), []);
    // A variant without an agent of its own uses the stage's, which must serve the variant's channel too.
    assert.throws(() => check({ ...twilio, agent: 'voice', variants: [{ label: 'B', weight: 1, channel: 'telegram', agent: 'voice' }] }), field('variants[0].agent'));
    assert.throws(() => check({ ...twilio, agent: 'voice', variants: [{ label: 'B', weight: 1, channel: 'whatsapp', settings: { startState: 'greet', templateName: 't' } }] }), /the stage's agent "voice" does not serve the WhatsApp channel/);
    assert.throws(() => check({ ...twilio, agent: 'voice', variants: [{ label: 'B', weight: 1, agent: 'voice', settings: { startState: 'nope' } }] }), field('variants[0].settings.startState'));
  });

  it('accepts only an existing language-model integration in LLM Settings', () => {
    const integrations = [{ name: 'gpt', type: 'llm' }, { name: 'mail', type: 'smtp' }];
    checkLlmIntegration('gpt', integrations);
    assert.throws(() => checkLlmIntegration('nope', integrations), (e: unknown) => e instanceof DomainError && e.field === 'llmIntegration' && /language-model integrations here: gpt/.test(e.message));
    assert.throws(() => checkLlmIntegration('mail', integrations), /"mail" is a smtp integration, not a language model/);
    assert.throws(() => checkLlmIntegration('gpt', [], 'campaign.json.settings.llmIntegration'), (e: unknown) => e instanceof DomainError && e.field === 'campaign.json.settings.llmIntegration' && /no language-model integration here yet/.test(e.message));
  });
});
