import { invalid } from '@herald/contracts';
import { CHANNELS, INTEGRATION_CHANNELS, LLM_INTEGRATION_TYPES, type Channel } from './channels';
import type { StageDefinition } from './events';

/**
 * What a stage or the settings name outside the campaign: agents of the
 * workspace's registry and integrations. The registry belongs to dispatch;
 * the caller looks the names up (in process or over gRPC) and these pure
 * rules judge the answers, naming the field that is wrong.
 */

/** An agent as the registry shows it (AgentView): what it serves and its workflow states. */
export interface RegistryAgent {
  readonly name: string;
  readonly channels?: readonly string[];
  readonly integrations?: readonly string[];
  readonly states?: readonly { readonly name: string }[];
  readonly hasPush?: boolean;
}

export interface RegistryIntegration {
  readonly name: string;
  readonly type: string;
}

/** One use of a registry agent by a stage or one of its A/B variants. */
export interface AgentReference {
  /** The field to name when the agent is wrong: `agent` or `variants[1].agent`. */
  readonly field: string;
  /** The settings the agent works with (their `startState` must be one of its states). */
  readonly settingsField: string;
  readonly agent: string;
  /** The agent comes from the stage, the variant naming none of its own (dispatch does the same). */
  readonly inherited: boolean;
  readonly channel: Channel;
  readonly settings: Readonly<Record<string, unknown>>;
}

/**
 * The registry agents a (validated) stage uses. A Human stage names a role
 * for the people's queue, not a registry agent; a channel without agents has
 * none to check.
 */
export function agentReferences(stage: Omit<StageDefinition, 'id'>): AgentReference[] {
  const refs: AgentReference[] = [];
  const add = (field: string, settingsField: string, channel: Channel, agent: string | null, inherited: boolean, settings: Readonly<Record<string, unknown>>) => {
    if (!agent || channel === 'human' || !CHANNELS[channel].agent) return;
    refs.push({ field, settingsField, agent, inherited, channel, settings });
  };
  add('agent', 'settings', stage.channel, stage.agent, false, stage.settings);
  (stage.variants ?? []).forEach((v, i) => add(`variants[${i}].agent`, `variants[${i}].settings`, v.channel, v.agent ?? stage.agent, !v.agent, v.settings));
  return refs;
}

/** Whether the agent serves the channel: it lists the channel, or one of its integrations is of a type that serves it; Mobile Push needs a push configuration. */
export function agentServes(agent: RegistryAgent, channel: Channel, integrations: readonly RegistryIntegration[]): boolean {
  if (channel === 'mobile_push') return Boolean(agent.hasPush);
  if ((agent.channels ?? []).includes(channel)) return true;
  const byName = new Map(integrations.map((i) => [i.name, i.type]));
  return (agent.integrations ?? []).some((name) => (INTEGRATION_CHANNELS[byName.get(name) ?? ''] ?? []).includes(channel));
}

/**
 * "A stage's agent must support the stage's channel": each referenced agent
 * exists (`agents` maps its name to the registry's answer, null when there is
 * none), serves the channel, and a Start state is one of its workflow states
 * when it declares states. `prefix` places the fields (`campaign.json.stages[0].`).
 */
export function checkAgentReferences(
  refs: readonly AgentReference[],
  agents: ReadonlyMap<string, RegistryAgent | null>,
  integrations: readonly RegistryIntegration[],
  prefix = '',
): void {
  for (const ref of refs) {
    const agent = agents.get(ref.agent) ?? null;
    const whose = ref.inherited ? `the stage's agent "${ref.agent}"` : `agent "${ref.agent}"`;
    if (!agent) throw invalid(prefix + ref.field, `${whose} does not exist in this workspace: add it to the agent registry (POST /api/agents) first`);
    if (!agentServes(agent, ref.channel, integrations)) {
      const label = CHANNELS[ref.channel].label;
      const why = ref.channel === 'mobile_push'
        ? 'it has no push notification configuration'
        : `it serves the channels [${(agent.channels ?? []).join(', ')}] and the integrations [${(agent.integrations ?? []).join(', ')}]`;
      throw invalid(prefix + ref.field, `${whose} does not serve the ${label} channel: ${why}`);
    }
    const startState = ref.settings.startState;
    const states = (agent.states ?? []).map((s) => s.name);
    if (typeof startState === 'string' && startState !== '' && states.length && !states.includes(startState)) {
      throw invalid(`${prefix}${ref.settingsField}.startState`, `"${startState}" is not a workflow state of ${whose} (its states: ${states.join(', ')})`);
    }
  }
}

/** LLM Settings: the chosen integration exists and is a language model. */
export function checkLlmIntegration(name: string, integrations: readonly RegistryIntegration[], field = 'llmIntegration'): void {
  const found = integrations.find((i) => i.name === name);
  const models = integrations.filter((i) => LLM_INTEGRATION_TYPES.includes(i.type)).map((i) => i.name);
  const offer = models.length ? `the language-model integrations here: ${models.join(', ')}` : 'there is no language-model integration here yet: add one (POST /api/integrations, type llm)';
  if (!found) throw invalid(field, `no integration named "${name}" in this workspace (${offer})`);
  if (!LLM_INTEGRATION_TYPES.includes(found.type)) throw invalid(field, `"${name}" is a ${found.type} integration, not a language model (${offer})`);
}
