import type { Pool } from 'pg';
import { CHANNEL_IDS } from '@herald/campaign-model';
import { invalid, notFound, type AgentInput, type AgentView } from '@herald/contracts';
import type { SecretBox } from '../secrets/secret-box';
import { tenantQuery } from '@herald/service-defaults';

export const AGENTS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dispatch_agents (
    workspace_id text NOT NULL,
    name         text NOT NULL,
    definition   jsonb NOT NULL,
    secrets      text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name)
  )`;

/** An agent with its secrets, for the conversation engine only. */
export type AgentDefinition = AgentInput & { startStates: string[] };

/** Where each secret lives inside the definition (write-only through the API). */
const SECRET_PATHS = [['webhook', 'secret'], ['push', 'fcm', 'privateKey'], ['push', 'webPush', 'privateKey']] as const;

/** The agent registry: what each agent serves, its workflow states and prompts, its backend and push configuration. */
export class AgentRegistry {
  constructor(private readonly pool: Pool, private readonly box: SecretBox) {}

  async save(workspaceId: string, input: AgentInput): Promise<AgentView> {
    const previous = await this.find(workspaceId, input?.name).catch(() => null);
    const agent = validateAgent(input);
    const secrets: Record<string, string> = {};
    for (const path of SECRET_PATHS) {
      const key = path.join('.');
      const value = take(agent, path) ?? (previous ? read(previous, path) : undefined);
      if (typeof value === 'string' && value) secrets[key] = value;
    }
    if (agent.push?.fcm && !secrets['push.fcm.privateKey']) throw invalid('push.fcm.privateKey', 'is required (the service account private key, PEM)');
    if (agent.push?.webPush && !secrets['push.webPush.privateKey']) throw invalid('push.webPush.privateKey', 'is required (the VAPID private key)');
    const sealed = Object.keys(secrets).length ? this.box.encrypt(secrets) : null;
    const { rows } = await this.pool.query<{ updated_at: Date }>(
      `INSERT INTO dispatch_agents (workspace_id, name, definition, secrets) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workspace_id, name) DO UPDATE SET definition = EXCLUDED.definition, secrets = EXCLUDED.secrets, updated_at = now()
       RETURNING updated_at`,
      [workspaceId, agent.name, agent, sealed],
    );
    return toView(agent, Object.keys(secrets), rows[0].updated_at);
  }

  async list(workspaceId: string, query: { channel?: string } = {}): Promise<AgentView[]> {
    const { rows } = await tenantQuery<{ definition: AgentInput; secrets: string | null; updated_at: Date }>(this.pool, workspaceId,
      `SELECT definition, secrets, updated_at FROM dispatch_agents WHERE workspace_id = $1 ORDER BY name`, [workspaceId]);
    return rows
      .map((r) => toView(r.definition, this.secretNames(r.secrets), r.updated_at))
      // Mobile Push lists only agents with a push configuration (seeds: "only agents with a push notification configuration are listed").
      .filter((a) => !query.channel || (query.channel === 'mobile_push' ? a.hasPush : (a.channels ?? []).includes(query.channel)));
  }

  async view(workspaceId: string, name: string): Promise<AgentView> {
    const { rows } = await tenantQuery<{ definition: AgentInput; secrets: string | null; updated_at: Date }>(this.pool, workspaceId,
      `SELECT definition, secrets, updated_at FROM dispatch_agents WHERE workspace_id = $1 AND name = $2`, [workspaceId, name]);
    if (!rows[0]) throw notFound(`agent "${name}"`);
    return toView(rows[0].definition, this.secretNames(rows[0].secrets), rows[0].updated_at);
  }

  async remove(workspaceId: string, name: string): Promise<void> {
    const { rowCount } = await this.pool.query(`DELETE FROM dispatch_agents WHERE workspace_id = $1 AND name = $2`, [workspaceId, name]);
    if (!rowCount) throw notFound(`agent "${name}"`);
  }

  /** The agent with its secrets, or null when there is none of that name. */
  async find(workspaceId: string, name: string | null | undefined): Promise<AgentDefinition | null> {
    if (!name) return null;
    const { rows } = await this.pool.query<{ definition: AgentInput; secrets: string | null }>(
      `SELECT definition, secrets FROM dispatch_agents WHERE workspace_id = $1 AND name = $2`, [workspaceId, name]);
    if (!rows[0]) return null;
    const agent = structuredClone(rows[0].definition) as AgentDefinition;
    const secrets = rows[0].secrets ? this.box.decrypt<Record<string, string>>(rows[0].secrets) : {};
    for (const path of SECRET_PATHS) if (secrets[path.join('.')]) write(agent, path, secrets[path.join('.')]);
    agent.startStates = startStatesOf(agent);
    return agent;
  }

  private secretNames(sealed: string | null): string[] {
    return sealed ? Object.keys(this.box.decrypt<Record<string, string>>(sealed)).sort() : [];
  }
}

export const startStatesOf = (agent: AgentInput): string[] => {
  const states = agent.states ?? [];
  const marked = states.filter((s) => s.start).map((s) => s.name);
  return marked.length ? marked : states.slice(0, 1).map((s) => s.name);
};

function toView(agent: AgentInput, secrets: string[], updatedAt: Date): AgentView {
  return { ...agent, startStates: startStatesOf(agent), hasPush: Boolean(agent.push?.fcm || agent.push?.webPush), secrets, updatedAt: updatedAt.toISOString() };
}

/** Checks an agent definition field by field; the message names the field (states[1].name, scripted.rules[0].match, ...). */
export function validateAgent(input: AgentInput): AgentInput {
  const a = (input && typeof input === 'object' ? input : {}) as AgentInput;
  const name = typeof a.name === 'string' ? a.name.trim() : '';
  if (!name || name.length > 100) throw invalid('name', 'is required (at most 100 characters)');
  if (!['llm', 'webhook', 'scripted'].includes(a.backend)) throw invalid('backend', 'must be llm, webhook or scripted');
  const channels = stringList('channels', a.channels);
  channels.forEach((c, i) => { if (!(CHANNEL_IDS as string[]).includes(c)) throw invalid(`channels[${i}]`, `unknown channel "${c}" (one of ${CHANNEL_IDS.join(', ')})`); });
  const integrations = stringList('integrations', a.integrations);
  const names = new Set<string>();
  const states = (a.states ?? []).map((s, i) => {
    const sName = typeof s?.name === 'string' ? s.name.trim() : '';
    if (!sName) throw invalid(`states[${i}].name`, 'is required');
    if (names.has(sName)) throw invalid(`states[${i}].name`, `"${sName}" is used twice`);
    names.add(sName);
    if (s.prompt !== undefined && typeof s.prompt !== 'string') throw invalid(`states[${i}].prompt`, 'must be a string');
    return { name: sName, ...(s.prompt ? { prompt: s.prompt } : {}), ...(s.start ? { start: true } : {}) };
  });
  if (!Array.isArray(a.states) && a.states !== undefined) throw invalid('states', 'must be a list');
  const out: AgentInput = { name, backend: a.backend, channels, integrations, states };
  if (a.description !== undefined) out.description = String(a.description);
  if (a.silenceTimeoutSeconds !== undefined) {
    const t = Number(a.silenceTimeoutSeconds);
    if (!Number.isFinite(t) || t <= 0 || t > 30 * 86400) throw invalid('silenceTimeoutSeconds', 'must be above 0 and at most 30 days');
    out.silenceTimeoutSeconds = t;
  }
  if (a.backend === 'llm') {
    const llm = a.llm ?? {};
    const extract = (llm.extract ?? [{ name: 'OutcomeStatus', description: 'SUCCESS, POSITIVE, UNCERTAIN, NEGATIVE or NO_RESPONSE' }]).map((f, i) => {
      if (typeof f?.name !== 'string' || !/^\w{1,64}$/.test(f.name)) throw invalid(`llm.extract[${i}].name`, 'letters, digits and "_"');
      return { name: f.name, ...(f.description ? { description: String(f.description) } : {}) };
    });
    out.llm = { ...(llm.integration ? { integration: String(llm.integration) } : {}), ...(llm.model ? { model: String(llm.model) } : {}), extract };
  }
  if (a.backend === 'webhook') {
    if (typeof a.webhook?.url !== 'string' || !/^https?:\/\//.test(a.webhook.url)) throw invalid('webhook.url', 'an http(s) URL is required');
    out.webhook = { url: a.webhook.url, ...(a.webhook.secret ? { secret: String(a.webhook.secret) } : {}) };
  }
  if (a.backend === 'scripted') {
    if (!Array.isArray(a.scripted?.rules)) throw invalid('scripted.rules', 'a list of rules is required');
    const rules = a.scripted.rules.map((r, i) => {
      if (typeof r?.match !== 'string' || !r.match) throw invalid(`scripted.rules[${i}].match`, 'a regular expression is required');
      try { new RegExp(r.match, 'i'); } catch (e) { throw invalid(`scripted.rules[${i}].match`, (e as Error).message); }
      if (r.state !== undefined && !names.has(r.state)) throw invalid(`scripted.rules[${i}].state`, `unknown state "${r.state}"`);
      if (r.results !== undefined && (typeof r.results !== 'object' || Array.isArray(r.results))) throw invalid(`scripted.rules[${i}].results`, 'must be an object');
      return { match: r.match, ...(r.reply !== undefined ? { reply: String(r.reply) } : {}), ...(r.end ? { end: true } : {}), ...(r.state ? { state: r.state } : {}), ...(r.results ? { results: r.results } : {}) };
    });
    out.scripted = { rules, ...(a.scripted.greeting ? { greeting: String(a.scripted.greeting) } : {}), ...(a.scripted.fallback ? { fallback: String(a.scripted.fallback) } : {}) };
  }
  if (a.push) {
    const p = a.push;
    const push: NonNullable<AgentInput['push']> = { ...(p.title ? { title: String(p.title) } : {}), ...(p.body ? { body: String(p.body) } : {}) };
    if (p.fcm) {
      if (typeof p.fcm.projectId !== 'string' || !p.fcm.projectId) throw invalid('push.fcm.projectId', 'is required');
      if (typeof p.fcm.clientEmail !== 'string' || !p.fcm.clientEmail.includes('@')) throw invalid('push.fcm.clientEmail', 'the service account email is required');
      push.fcm = { projectId: p.fcm.projectId, clientEmail: p.fcm.clientEmail, ...(p.fcm.privateKey ? { privateKey: String(p.fcm.privateKey) } : {}),
        ...(p.fcm.apiUrl ? { apiUrl: String(p.fcm.apiUrl) } : {}), ...(p.fcm.tokenUrl ? { tokenUrl: String(p.fcm.tokenUrl) } : {}) };
    }
    if (p.webPush) {
      if (typeof p.webPush.subject !== 'string' || !/^(mailto:|https:)/.test(p.webPush.subject)) throw invalid('push.webPush.subject', 'a mailto: or https: contact is required');
      if (typeof p.webPush.publicKey !== 'string' || !p.webPush.publicKey) throw invalid('push.webPush.publicKey', 'the VAPID public key is required');
      push.webPush = { subject: p.webPush.subject, publicKey: p.webPush.publicKey, ...(p.webPush.privateKey ? { privateKey: String(p.webPush.privateKey) } : {}) };
    }
    if (!push.fcm && !push.webPush) throw invalid('push', 'needs fcm or webPush');
    out.push = push;
  }
  return out;
}

function stringList(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalid(field, 'must be a list of names');
  return [...new Set(value as string[])];
}

/** Removes and returns the value at a path (secrets leave the stored definition). */
function take(o: object, path: readonly string[]): unknown {
  const parent = path.slice(0, -1).reduce<Record<string, unknown> | undefined>((x, k) => x?.[k] as Record<string, unknown> | undefined, o as Record<string, unknown>);
  const last = path[path.length - 1];
  if (!parent || !(last in parent)) return undefined;
  const value = parent[last];
  delete parent[last];
  return value;
}
const read = (o: object, path: readonly string[]): unknown => path.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
function write(o: object, path: readonly string[], value: unknown): void {
  const parent = path.slice(0, -1).reduce<Record<string, unknown> | undefined>((x, k) => x?.[k] as Record<string, unknown> | undefined, o as Record<string, unknown>);
  if (parent) parent[path[path.length - 1]] = value;
}
