import type { CampaignSettingsInput, CampaignView } from '@herald/contracts';
import { BUILT_IN_RESULTS, statusOf, type CampaignState } from '@herald/campaign-model';

export function toView(state: CampaignState): CampaignView {
  const { status, message } = statusOf(state);
  return {
    id: state.id,
    workspaceId: state.workspaceId,
    name: state.name,
    description: state.description,
    labels: [...state.labels],
    status,
    statusMessage: message,
    stages: state.stages.map(({ variants, ...s }) => ({
      ...s,
      settings: { ...s.settings },
      ...(variants ? { variants: variants.map((v) => ({ ...v, settings: { ...v.settings } })) } : {}),
    })),
    strategies: state.strategies.map(({ code: _code, ...rest }) => rest),
    contactCount: state.contactCount,
    activeUploadId: state.activeUploadId,
    settings: settingsView(state),
    analytics: state.analytics ? { fileName: state.analytics.fileName, version: state.analytics.version } : null,
    resultDefinitions: [...BUILT_IN_RESULTS, ...state.resultDefinitions].map((d) => ({ ...d })),
    createdAt: state.createdAt,
    revision: state.revision,
  };
}

export function settingsView(state: CampaignState): CampaignSettingsInput {
  const { egressAllowlist, ...rest } = state.settings;
  return { ...rest, ...(egressAllowlist ? { egressAllowlist: [...egressAllowlist] } : {}) };
}
