import { CHANNELS } from '@herald/campaign-model';
import type { AgentView, IntegrationView } from '../api';

export type ChannelId = keyof typeof CHANNELS;
export const CHANNEL_OPTIONS = (Object.keys(CHANNELS) as ChannelId[]).map((id) => ({ value: id, label: CHANNELS[id].label }));

export interface FieldSpec { key: string; label: string; description?: string; kind: 'text' | 'integration' | 'startState' | 'email' }

/**
 * The channel-specific fields of the seeds' table (Add a stage); which are
 * required comes from libs/campaign-model's CHANNELS, the API's own check.
 */
export const CHANNEL_FIELDS: Record<ChannelId, FieldSpec[]> = {
  email_notification: [{ key: 'integration', label: 'Integration', kind: 'integration', description: 'The SMTP integration that sends the email' }, { key: 'email', label: 'Email', kind: 'email' }],
  email_communication: [{ key: 'email', label: 'Email', kind: 'email' }],
  whatsapp: [
    { key: 'startState', label: 'Start state', kind: 'startState' },
    { key: 'templateName', label: 'Template Name', kind: 'text', description: 'The Meta-approved WhatsApp message template' },
  ],
  messagebird_whatsapp: [
    { key: 'projectId', label: 'Project ID', kind: 'text' },
    { key: 'version', label: 'Version', kind: 'text', description: 'Template version' },
    { key: 'startState', label: 'Start state', kind: 'startState' },
  ],
  messagebird_webhook: [],
  telegram: [{ key: 'startPhrase', label: 'Start phrase', kind: 'text', description: 'The first message the agent sends' }],
  infobip: [{ key: 'startPhrase', label: 'Start phrase', kind: 'text', description: 'The first message the agent sends' }],
  twilio: [{ key: 'startState', label: 'Start state', kind: 'startState' }],
  sip: [],
  mobile_push: [],
  human: [],
  no_communication: [],
};

export const isRequired = (channel: ChannelId, key: string) => (CHANNELS[channel].required as readonly string[]).includes(key);

/** Which integration types serve which channels (services/dispatch's integration types). */
const INTEGRATION_CHANNELS: Record<string, string[]> = {
  smtp: ['email_notification', 'email_communication'],
  whatsapp: ['whatsapp'],
  messagebird: ['messagebird_whatsapp', 'messagebird_webhook'],
  telegram: ['telegram'],
  infobip: ['infobip'],
  twilio: ['twilio'],
  sip: ['sip'],
};

export const integrationsFor = (channel: string, all: IntegrationView[]) => all.filter((i) => (INTEGRATION_CHANNELS[i.type] ?? []).includes(channel));

/**
 * The Agent list of a stage: only agents that match the channel, grouped as
 * the seeds say: with an integration of that channel, or with the channel
 * attached. Mobile Push lists only agents with a push configuration.
 */
export function agentGroups(channel: string, agents: AgentView[], integrations: IntegrationView[]): { withIntegration: AgentView[]; withChannel: AgentView[] } {
  if (channel === 'mobile_push') return { withIntegration: [], withChannel: agents.filter((a) => a.hasPush) };
  const names = new Set(integrationsFor(channel, integrations).map((i) => i.name));
  const withIntegration = agents.filter((a) => (a.integrations ?? []).some((n) => names.has(n)));
  const withChannel = agents.filter((a) => (a.channels ?? []).includes(channel) && !withIntegration.includes(a));
  return { withIntegration, withChannel };
}
