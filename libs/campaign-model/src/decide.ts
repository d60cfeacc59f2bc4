import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound, precondition } from '@herald/contracts';
import { CHANNEL_IDS, CHANNELS, type Channel } from './channels';
import { BUILT_IN_RESULTS, missingForConfigured, type CampaignState } from './campaign';
import { STRATEGY_TYPES, type CampaignChange, type CampaignSettings, type ResultDefinition, type StageDefinition, type StageVariant, type StrategyDefinition, type StrategyType } from './events';

/** Pure decisions over the campaign's state: each returns the events to append or throws a DomainError. */

export const UPLOAD_IN_PROGRESS = 'Another upload is still in progress, please try again in few minutes';
export const START_WITHOUT_CONTACTS = 'Start is unavailable: the campaign has no contacts yet. Upload contacts first.';

export const STRATEGY_TYPE_TAKEN = (type: string) =>
  `Each strategy type can be used once per campaign: a ${type} strategy already exists. Edit it and use Replace file instead.`;

const required = (field: string, value: unknown) => {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(field, 'is required');
  return value.trim();
};

export function createCampaign(cmd: { campaignId: string; name: string; description: string; labels?: string[] }): CampaignChange[] {
  return [{
    type: 'CampaignCreated',
    data: { campaignId: cmd.campaignId, name: required('name', cmd.name), description: required('description', cmd.description), labels: checkLabels(cmd.labels ?? []) },
  }];
}

export interface StageInput {
  name: string;
  description: string;
  channel: string;
  agent?: string | null;
  settings?: Record<string, unknown>;
  variants?: { label: string; group?: string; weight: number; channel?: string; agent?: string | null; settings?: Record<string, unknown> }[] | null;
}

/** Checks a stage as the seeds' channel table says; errors name the field (settings.subject, variants[1].weight, ...). */
function checkStage(cmd: StageInput): Omit<StageDefinition, 'id'> {
  const name = required('name', cmd.name);
  const description = required('description', cmd.description);
  const channel = checkChannel('channel', cmd.channel);
  const agent = checkAgent('agent', channel, cmd.agent);
  const settings = checkSettings('settings', channel, cmd.settings);
  if (!cmd.variants || cmd.variants.length === 0) return { name, description, channel, agent, settings };
  if (cmd.variants.length > 10) throw invalid('variants', 'at most 10 alternative configurations');
  const labels = new Set<string>();
  const variants: StageVariant[] = cmd.variants.map((v, i) => {
    const at = `variants[${i}]`;
    const label = required(`${at}.label`, v?.label);
    if (labels.has(label)) throw invalid(`${at}.label`, `"${label}" is used twice`);
    labels.add(label);
    const weight = Number(v.weight);
    if (!Number.isFinite(weight) || weight <= 0 || weight > 1000) throw invalid(`${at}.weight`, 'must be a number above 0 (at most 1000)');
    const group = v.group ?? 'experimental';
    if (group !== 'control' && group !== 'experimental') throw invalid(`${at}.group`, 'must be control or experimental');
    const vChannel = checkChannel(`${at}.channel`, v.channel ?? channel);
    return { label, group, weight, channel: vChannel, agent: checkAgent(`${at}.agent`, vChannel, v.agent), settings: checkSettings(`${at}.settings`, vChannel, v.settings) };
  });
  return { name, description, channel, agent, settings, variants };
}

/** The stage as addStage and updateStage would store it (trimmed, defaults applied), or the first field error. */
export function validateStage(cmd: StageInput): Omit<StageDefinition, 'id'> {
  return checkStage(cmd);
}

function checkChannel(field: string, value: unknown): Channel {
  if (typeof value !== 'string' || !(value in CHANNELS)) throw invalid(field, `unknown channel "${String(value)}" (one of ${CHANNEL_IDS.join(', ')})`);
  return value as Channel;
}

function checkAgent(field: string, channel: Channel, agent: string | null | undefined): string | null {
  const value = typeof agent === 'string' && agent.trim() ? agent.trim() : null;
  if (!value && CHANNELS[channel].agentRequired) throw invalid(field, `is required for the ${CHANNELS[channel].label} channel`);
  if (value && !CHANNELS[channel].agent) throw invalid(field, `the ${CHANNELS[channel].label} channel has no agent`);
  return value;
}

function checkSettings(field: string, channel: Channel, settings: Record<string, unknown> | undefined): Record<string, unknown> {
  const value = settings ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(field, 'must be an object');
  for (const f of CHANNELS[channel].required) required(`${field}.${f}`, value[f]);
  if (value.inputType !== undefined && value.inputType !== 'default' && value.inputType !== 'html') throw invalid(`${field}.inputType`, 'must be default or html');
  return value;
}

export function addStage(state: CampaignState, cmd: StageInput): CampaignChange[] {
  const stage = checkStage(cmd);
  if (state.stages.some((s) => s.name === stage.name)) throw conflict(`a stage named "${stage.name}" already exists`);
  return [{ type: 'StageAdded', data: { stage: { id: randomUUID(), ...stage } } }];
}

export function updateStage(state: CampaignState, stageId: string, cmd: StageInput): CampaignChange[] {
  const current = stageOf(state, stageId);
  const stage = checkStage(cmd);
  if (state.stages.some((s) => s.name === stage.name && s.id !== stageId)) throw conflict(`a stage named "${stage.name}" already exists`);
  // Strategies refer to stages by name: a rename while contacts may sit in the stage is refused while running.
  if (stage.name !== current.name && state.running) throw precondition('Stop the campaign before renaming a stage: strategies and contacts refer to it by name.');
  return [{ type: 'StageUpdated', data: { stage: { id: stageId, ...stage } } }];
}

export function removeStage(state: CampaignState, stageId: string): CampaignChange[] {
  const stage = stageOf(state, stageId);
  if (state.running) throw precondition(`Stop the campaign before deleting the stage "${stage.name}".`);
  return [{ type: 'StageRemoved', data: { stageId } }];
}

function stageOf(state: CampaignState, stageId: string): StageDefinition {
  const stage = state.stages.find((s) => s.id === stageId);
  if (!stage) throw notFound(`stage ${stageId}`);
  return stage;
}

export function addStrategy(
  state: CampaignState,
  cmd: { name: string; description: string; type: string; functionName: string; fileName: string; code: string },
): CampaignChange[] {
  const name = required('name', cmd.name);
  const description = required('description', cmd.description);
  if (!STRATEGY_TYPES.includes(cmd.type as StrategyType)) throw invalid('type', `must be one of ${STRATEGY_TYPES.join(', ')}`);
  const functionName = checkFunctionName(cmd.functionName);
  checkFile(cmd.fileName);
  if (state.strategies.some((s) => s.type === cmd.type)) {
    throw conflict(STRATEGY_TYPE_TAKEN(cmd.type));
  }
  return [{
    type: 'StrategyAdded',
    data: { strategy: { id: randomUUID(), name, description, type: cmd.type as StrategyType, functionName, fileName: cmd.fileName, code: cmd.code, version: 1 } },
  }];
}

export function startUpload(state: CampaignState, cmd: { uploadId: string; fileName: string }): CampaignChange[] {
  if (state.activeUploadId && state.activeUploadId !== cmd.uploadId) throw conflict(UPLOAD_IN_PROGRESS);
  if (state.activeUploadId === cmd.uploadId) return [];
  return [{ type: 'ContactsUploadStarted', data: cmd }];
}

/**
 * The active upload has created this many contacts so far: the campaign
 * counts them now, so it is CONFIGURED and can be started while a long
 * upload is still being imported. A total that is not higher than the last
 * one, or of an upload that is no longer active, changes nothing.
 */
export function progressUpload(state: CampaignState, cmd: { uploadId: string; created: number }): CampaignChange[] {
  if (state.activeUploadId !== cmd.uploadId || cmd.created <= state.uploadCreated) return [];
  return [{ type: 'ContactsUploadProgressed', data: cmd }];
}

export function completeUpload(
  state: CampaignState,
  cmd: { uploadId: string; rowsRead: number; imported: number; created: number; rejected: number },
): CampaignChange[] {
  if (state.activeUploadId !== cmd.uploadId) return []; // already completed: a retried completion changes nothing
  return [{ type: 'ContactsUploadCompleted', data: cmd }];
}

export function start(state: CampaignState): CampaignChange[] {
  if (state.error) throw precondition(`The campaign is in error: ${state.error} Use Force stop, fix the cause and start again.`);
  if (state.running) return [];
  if (state.contactCount === 0) throw precondition(START_WITHOUT_CONTACTS);
  const missing = missingForConfigured(state);
  if (missing.length) throw precondition(`Start is unavailable: ${missing.join(' and ')} missing.`);
  return [{ type: 'CampaignStarted', data: {} }];
}

export function stop(state: CampaignState): CampaignChange[] {
  return state.running ? [{ type: 'CampaignStopped', data: {} }] : [];
}

/** The scheduler saw no PLANNED or STARTED communication left in a running campaign. */
export function finish(state: CampaignState): CampaignChange[] {
  return state.running ? [{ type: 'CampaignFinished', data: {} }] : [];
}

export function updateDetails(state: CampaignState, cmd: { name?: string; description?: string; labels?: string[] }): CampaignChange[] {
  const data: { name?: string; description?: string; labels?: string[] } = {};
  if (cmd.name !== undefined) data.name = required('name', cmd.name);
  if (cmd.description !== undefined) data.description = required('description', cmd.description);
  if (cmd.labels !== undefined) data.labels = checkLabels(cmd.labels);
  const changed = Object.entries(data).some(([k, v]) => JSON.stringify(v) !== JSON.stringify(state[k as keyof CampaignState]));
  return changed ? [{ type: 'CampaignDetailsChanged', data }] : [];
}

export function checkLabels(labels: unknown): string[] {
  if (!Array.isArray(labels)) throw invalid('labels', 'must be a list of strings');
  const clean = labels.map((l, i) => {
    if (typeof l !== 'string' || !l.trim()) throw invalid(`labels[${i}]`, 'must be a non-empty string');
    if (l.length > 50) throw invalid(`labels[${i}]`, 'at most 50 characters');
    return l.trim();
  });
  return [...new Set(clean)];
}

export function deleteCampaign(state: CampaignState): CampaignChange[] {
  if (state.running) throw precondition('A running campaign cannot be deleted: stop it first.');
  return [{ type: 'CampaignDeleted', data: {} }];
}

export function updateStrategy(state: CampaignState, strategyId: string, cmd: { name?: string; description?: string; functionName?: string }): CampaignChange[] {
  strategyOf(state, strategyId);
  const data: { strategyId: string; name?: string; description?: string; functionName?: string } = { strategyId };
  if (cmd.name !== undefined) data.name = required('name', cmd.name);
  if (cmd.description !== undefined) data.description = required('description', cmd.description);
  if (cmd.functionName !== undefined) data.functionName = checkFunctionName(cmd.functionName);
  return Object.keys(data).length > 1 ? [{ type: 'StrategyUpdated', data }] : [];
}

/** Replace file: a new version of the strategy's code (validated by the caller). */
export function replaceStrategyFile(state: CampaignState, strategyId: string, cmd: { fileName: string; code: string }): CampaignChange[] {
  const strategy = strategyOf(state, strategyId);
  checkFile(cmd.fileName);
  return [{ type: 'StrategyFileReplaced', data: { strategyId, fileName: cmd.fileName, code: cmd.code, version: strategy.version + 1 } }];
}

export function removeStrategy(state: CampaignState, strategyId: string): CampaignChange[] {
  const strategy = strategyOf(state, strategyId);
  if (state.running && strategy.type === 'DATA_LOAD') throw precondition('Stop the campaign before deleting its Data Load strategy.');
  return [{ type: 'StrategyRemoved', data: { strategyId } }];
}

function strategyOf(state: CampaignState, strategyId: string): StrategyDefinition {
  const strategy = state.strategies.find((s) => s.id === strategyId);
  if (!strategy) throw notFound(`strategy ${strategyId}`);
  return strategy;
}

function checkFunctionName(value: unknown): string {
  const name = required('functionName', value);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw invalid('functionName', 'must be a Python identifier');
  return name;
}

function checkFile(fileName: string): void {
  if (!fileName || !fileName.toLowerCase().endsWith('.py')) throw invalid('file', 'must be a .py file');
}

const TIMEZONES = new Set(typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []);

export function changeSettings(state: CampaignState, cmd: CampaignSettings): CampaignChange[] {
  const settings: { -readonly [K in keyof CampaignSettings]: CampaignSettings[K] } = { ...state.settings };
  if (cmd.llmIntegration !== undefined) settings.llmIntegration = cmd.llmIntegration === null ? null : required('llmIntegration', cmd.llmIntegration);
  if (cmd.defaultWindowMinutes !== undefined) {
    const n = Number(cmd.defaultWindowMinutes);
    if (!Number.isInteger(n) || n < 1 || n > 60 * 24 * 90) throw invalid('defaultWindowMinutes', 'must be a whole number of minutes between 1 and 129600 (90 days)');
    settings.defaultWindowMinutes = n;
  }
  if (cmd.strategyTimeoutSeconds !== undefined) {
    const n = Number(cmd.strategyTimeoutSeconds);
    if (!Number.isFinite(n) || n < 0.1 || n > 60) throw invalid('strategyTimeoutSeconds', 'must be between 0.1 and 60 seconds');
    settings.strategyTimeoutSeconds = n;
  }
  if (cmd.defaultTimezone !== undefined) {
    if (typeof cmd.defaultTimezone !== 'string' || !(TIMEZONES.has(cmd.defaultTimezone) || cmd.defaultTimezone === 'UTC')) throw invalid('defaultTimezone', `"${String(cmd.defaultTimezone)}" is not an IANA time zone`);
    settings.defaultTimezone = cmd.defaultTimezone;
  }
  if (cmd.egressAllowlist !== undefined) {
    if (!Array.isArray(cmd.egressAllowlist)) throw invalid('egressAllowlist', 'must be a list of host names');
    settings.egressAllowlist = cmd.egressAllowlist.map((h, i) => {
      if (typeof h !== 'string' || !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i.test(h)) throw invalid(`egressAllowlist[${i}]`, 'must be a host name such as api.example.com');
      return h.toLowerCase();
    });
  }
  return JSON.stringify(settings) === JSON.stringify(state.settings) ? [] : [{ type: 'CampaignSettingsChanged', data: { settings } }];
}

/** The YAML text is validated by the caller (a YAML parser); here: name and size. */
export function uploadAnalytics(state: CampaignState, cmd: { fileName: string; yaml: string }): CampaignChange[] {
  if (!/\.ya?ml$/i.test(cmd.fileName ?? '')) throw invalid('file', 'must be a .yaml or .yml file');
  if (cmd.yaml.length > 512 * 1024) throw invalid('file', 'at most 512 KB');
  return [{ type: 'AnalyticsUploaded', data: { analytics: { fileName: cmd.fileName, yaml: cmd.yaml, version: (state.analytics?.version ?? 0) + 1 } } }];
}

/** Add results / Update results: the whole list of the campaign's own result fields. */
export function setResultDefinitions(state: CampaignState, definitions: { code: string; name: string; description?: string }[]): CampaignChange[] {
  if (!Array.isArray(definitions)) throw invalid('results', 'must be a list');
  if (definitions.length > 100) throw invalid('results', 'at most 100 result fields');
  const codes = new Set<string>(BUILT_IN_RESULTS.map((r) => r.code));
  const clean: ResultDefinition[] = definitions.map((d, i) => {
    const code = required(`results[${i}].code`, d?.code);
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(code)) throw invalid(`results[${i}].code`, 'letters, digits and _ only, starting with a letter (at most 64)');
    if (codes.has(code)) throw invalid(`results[${i}].code`, `"${code}" is already defined`);
    codes.add(code);
    return { code, name: required(`results[${i}].name`, d.name), description: typeof d.description === 'string' ? d.description.trim() : '' };
  });
  return JSON.stringify(clean) === JSON.stringify(state.resultDefinitions) ? [] : [{ type: 'ResultDefinitionsChanged', data: { definitions: clean } }];
}

/** The platform found that the campaign cannot proceed (status ERROR). Repeated reports of the same message change nothing. */
export function fail(state: CampaignState, message: string): CampaignChange[] {
  if (state.deleted || state.error) return []; // the first report stands until a force stop
  return [{ type: 'CampaignFailed', data: { message } }];
}

/** Force stop: the way out of ERROR (and a stop otherwise). */
export function forceStop(state: CampaignState): CampaignChange[] {
  return state.error || state.running ? [{ type: 'CampaignForceStopped', data: {} }] : [];
}
