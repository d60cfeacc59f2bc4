import { invalid, MAX_JSON_DEPTH, nestedDeeperThan, type AddStageInput, type ResultDefinitionInput, type CampaignSettingsInput } from '@herald/contracts';
import type { CampaignState } from '@herald/campaign-model';
import { settingsView } from '../campaign-view';

/**
 * What an export holds: campaign.json (the configuration) and the files it
 * names (strategy code, the YAML analytics). Channel credentials are never in
 * it: stages name integrations and agents, which the importing installation
 * must have (the manifest says so).
 */
export const FORMAT = 'herald-campaign';
export const FORMAT_VERSION = 1;

export interface CampaignManifest {
  format: typeof FORMAT;
  version: number;
  exportedAt: string;
  note: string;
  campaign: { name: string; description: string; labels: string[] };
  stages: AddStageInput[];
  strategies: { name: string; description: string; type: string; functionName: string; fileName: string; path: string; version: number }[];
  settings: CampaignSettingsInput;
  resultDefinitions: ResultDefinitionInput[];
  analytics: { fileName: string; path: string } | null;
}

export function archiveFiles(state: CampaignState): Record<string, string> {
  const files: Record<string, string> = {};
  const strategies = state.strategies.map((s) => {
    const path = `strategies/${s.type}/${safeName(s.fileName, 'strategy.py')}`;
    files[path] = s.code;
    return { name: s.name, description: s.description, type: s.type, functionName: s.functionName, fileName: s.fileName, path, version: s.version };
  });
  let analytics: CampaignManifest['analytics'] = null;
  if (state.analytics) {
    const path = `analytics/${safeName(state.analytics.fileName, 'analytics.yaml')}`;
    files[path] = state.analytics.yaml;
    analytics = { fileName: state.analytics.fileName, path };
  }
  const manifest: CampaignManifest = {
    format: FORMAT,
    version: FORMAT_VERSION,
    exportedAt: new Date().toISOString(),
    note: 'Channel credentials and integration secrets are not exported; stages refer to integrations and agents by name.',
    campaign: { name: state.name, description: state.description, labels: [...state.labels] },
    stages: state.stages.map((s) => ({
      name: s.name, description: s.description, channel: s.channel, agent: s.agent, settings: { ...s.settings },
      ...(s.variants?.length ? { variants: s.variants.map((v) => ({ ...v, settings: { ...v.settings } })) } : {}),
    })),
    strategies,
    settings: settingsView(state),
    resultDefinitions: state.resultDefinitions.map((d) => ({ ...d })),
    analytics,
  };
  files['campaign.json'] = JSON.stringify(manifest, null, 2);
  return files;
}

function safeName(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  return /^[\w.-]{1,100}$/.test(base) && base !== '.' && base !== '..' ? base : fallback;
}

/** Reads campaign.json and the files it names; every problem names the field. */
export function readManifest(files: Map<string, Buffer>): { manifest: CampaignManifest; text: (path: string, field: string) => string } {
  const raw = files.get('campaign.json');
  if (!raw) throw invalid('file', 'campaign.json is missing from the export');
  let manifest: CampaignManifest;
  try {
    manifest = JSON.parse(raw.toString('utf8')) as CampaignManifest;
  } catch (error) {
    throw invalid('campaign.json', `not valid JSON: ${(error as Error).message}`);
  }
  if (!manifest || typeof manifest !== 'object' || manifest.format !== FORMAT) throw invalid('campaign.json', 'not a Herald campaign export');
  // Settings are copied into events, validated and serialised recursively: a value nested thousands deep would overflow those stacks.
  if (nestedDeeperThan(manifest)) throw invalid('campaign.json', `nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (manifest.version !== FORMAT_VERSION) throw invalid('campaign.json.version', `version ${String(manifest.version)} is not supported (this installation reads ${FORMAT_VERSION})`);
  for (const key of ['stages', 'strategies', 'resultDefinitions'] as const) {
    if (!Array.isArray(manifest[key])) throw invalid(`campaign.json.${key}`, 'must be a list');
  }
  if (!manifest.campaign || typeof manifest.campaign !== 'object') throw invalid('campaign.json.campaign', 'is required');
  const text = (path: string, field: string) => {
    const file = typeof path === 'string' ? files.get(path) : undefined;
    if (!file) throw invalid(field, `the file "${String(path)}" is missing from the export`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(file);
    } catch {
      throw invalid(field, `the file "${path}" is not UTF-8 text`);
    }
  };
  return { manifest, text };
}
