import { Alert, Autocomplete, Select, Stack, TextInput } from '@mantine/core';
import { CHANNELS } from '@herald/campaign-model';
import type { AgentView, IntegrationView } from '../api';
import { agentGroups, CHANNEL_FIELDS, CHANNEL_OPTIONS, integrationsFor, isRequired, type ChannelId } from './channel-fields';
import { EmailTemplateEditor } from './EmailTemplateEditor';

export interface ChannelValue { channel: ChannelId | ''; agent: string; settings: Record<string, string> }

export interface AgentsState { list: AgentView[] | null; unavailable: boolean }

/** Problems a user can fix before saving: required fields of the channel (the API checks the same). */
export function channelProblems(v: ChannelValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v.channel) return { channel: 'Select a channel' };
  const spec = CHANNELS[v.channel];
  if (spec.agentRequired && !v.agent.trim()) out.agent = 'Select the agent';
  for (const key of spec.required) if (!(v.settings[key] ?? '').trim()) out[key] = 'Required for this channel';
  return out;
}

/** What the API takes for this configuration: only the channel's own fields, non-empty. */
export function channelBody(v: ChannelValue): { channel: string; agent?: string; settings: Record<string, string> } {
  const channel = v.channel as ChannelId;
  const keys = new Set<string>(['integration']);
  for (const f of CHANNEL_FIELDS[channel]) {
    if (f.kind === 'email') ['subject', 'inputType', 'template'].forEach((k) => keys.add(k));
    else keys.add(f.key);
  }
  const settings: Record<string, string> = {};
  for (const k of keys) if ((v.settings[k] ?? '').trim()) settings[k] = v.settings[k];
  if (keys.has('inputType') && !settings.inputType) settings.inputType = 'default';
  const agent = CHANNELS[channel].agent && v.agent.trim() ? v.agent.trim() : undefined;
  return { channel, ...(agent ? { agent } : {}), settings };
}

/** Channel, agent and the fields of the chosen channel (the seeds' table); they change with the channel. */
export function ChannelConfig({ value, onChange, problems, agents, integrations, idPrefix }: {
  value: ChannelValue; onChange(v: ChannelValue): void; problems: Record<string, string>; agents: AgentsState; integrations: IntegrationView[]; idPrefix: string;
}) {
  const set = (patch: Partial<ChannelValue>) => onChange({ ...value, ...patch });
  const setting = (key: string, v: string) => onChange({ ...value, settings: { ...value.settings, [key]: v } });
  const channel = value.channel || null;
  const spec = channel ? CHANNELS[channel] : null;
  const matching = channel ? integrationsFor(channel, integrations) : [];
  const groups = channel && agents.list ? agentGroups(channel, agents.list, integrations) : { withIntegration: [], withChannel: [] };
  const chosen = agents.list?.find((a) => a.name === value.agent) ?? null;
  const viaChannel = Boolean(chosen && groups.withChannel.includes(chosen));
  const startStates = chosen?.startStates.length ? chosen.startStates : (chosen?.states ?? []).map((s) => s.name);

  return (
    <Stack gap="sm">
      <Select label="Channel" required data={CHANNEL_OPTIONS} value={channel} allowDeselect={false} id={`${idPrefix}-channel`}
        onChange={(c) => set({ channel: (c ?? '') as ChannelId, agent: '', settings: c?.startsWith('email') ? { inputType: value.settings.inputType ?? 'default', subject: value.settings.subject ?? '', template: value.settings.template ?? '' } : {} })}
        error={problems.channel} searchable />
      {channel && spec?.agent && (agents.unavailable ? (
        <>
          <TextInput label={channel === 'human' ? 'Agent role' : 'Agent'} required={spec.agentRequired} value={value.agent} onChange={(e) => set({ agent: e.currentTarget.value })}
            error={problems.agent} description="The agent list is not available from this server (no /api/agents yet): type the agent's name." />
        </>
      ) : channel === 'human' ? (
        <Autocomplete label="Agent role" description="Who handles the contact: an agent or a role" value={value.agent} onChange={(a) => set({ agent: a })}
          data={(agents.list ?? []).map((a) => a.name)} error={problems.agent} />
      ) : (
        <Select label="Agent" required={spec.agentRequired} searchable clearable value={value.agent || null} error={problems.agent}
          onChange={(a) => set({ agent: a ?? '' })}
          nothingFoundMessage="No agent matches"
          description={groups.withIntegration.length + groups.withChannel.length === 0
            ? `No agent serves ${spec.label}: configure an agent's channel or integration first.`
            : channel === 'mobile_push' ? 'Only agents with a push notification configuration are listed' : undefined}
          data={[
            ...(groups.withIntegration.length ? [{ group: 'Agents with integration', items: groups.withIntegration.map((a) => a.name) }] : []),
            ...(groups.withChannel.length ? [{ group: 'Agents with channel', items: groups.withChannel.map((a) => a.name) }] : []),
          ]} />
      ))}
      {channel && spec?.agent && viaChannel && matching.length > 0 && (
        <Select label="Agent channel" description="The connection the agent communicates through" data={matching.map((i) => i.name)} clearable
          value={value.settings.integration || null} onChange={(v) => setting('integration', v ?? '')} />
      )}
      {channel && CHANNEL_FIELDS[channel].map((f) => {
        const required = isRequired(channel, f.key);
        if (f.kind === 'integration') {
          return (
            <Select key={f.key} label={f.label} required={required} description={matching.length ? f.description : 'No SMTP integration is configured: add one through /api/integrations first.'}
              data={matching.map((i) => i.name)} value={value.settings.integration || null} onChange={(v) => setting('integration', v ?? '')} error={problems.integration} />
          );
        }
        if (f.kind === 'email') {
          return (
            <Stack key={f.key} gap="sm">
              <TextInput label="Email subject" required={isRequired(channel, 'subject')} value={value.settings.subject ?? ''} onChange={(e) => setting('subject', e.currentTarget.value)} error={problems.subject} />
              <EmailTemplateEditor inputType={value.settings.inputType ?? 'default'} template={value.settings.template ?? ''} required={isRequired(channel, 'template')} error={problems.template}
                onChange={(p) => onChange({ ...value, settings: { ...value.settings, ...(p.inputType !== undefined ? { inputType: p.inputType } : {}), ...(p.template !== undefined ? { template: p.template } : {}) } })} />
            </Stack>
          );
        }
        if (f.kind === 'startState' && startStates.length) {
          return (
            <Autocomplete key={f.key} label={f.label} required={required} description="A state of the agent's workflow" data={startStates}
              value={value.settings[f.key] ?? ''} onChange={(v) => setting(f.key, v)} error={problems[f.key]} />
          );
        }
        return (
          <TextInput key={f.key} label={f.label} required={required} description={f.kind === 'startState' ? "A state of the agent's workflow" : f.description}
            value={value.settings[f.key] ?? ''} onChange={(e) => setting(f.key, e.currentTarget.value)} error={problems[f.key]} />
        );
      })}
      {channel && !spec?.agent && channel === 'no_communication' && <Alert color="gray" variant="light">A terminal stage: it ends the sequence without contacting anyone.</Alert>}
    </Stack>
  );
}
