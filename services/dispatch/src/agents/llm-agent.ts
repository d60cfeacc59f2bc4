import type { JsonObject } from '@herald/contracts';
import { providerFetch, retryAfterHeader } from '../adapters/provider-http';
import type { IntegrationRecord } from '../integrations/integrations';
import type { AgentBackend, AgentContext, AgentTurn, EndReason } from './agent-backend';
import { promptOf } from './agent-backend';

interface LlmConfig { baseUrl: string; apiKey?: string; model: string; temperature?: number }

/** How often a completion answered with a 5xx is asked again (after 0.5 s, then 1 s) before the turn fails. */
const SERVER_ERROR_RETRIES = 2;

const TURN_INSTRUCTIONS = `Answer with one JSON object and nothing else: {"reply": "<your next message to the contact, or null>", "end": <true when the conversation is over>, "state": "<the workflow state to move to, or null>"}.`;

/**
 * The built-in agent: an OpenAI-compatible chat-completions endpoint (the
 * campaign's LLM Settings integration, `baseUrl` ending in /v1). Each turn
 * asks for a JSON answer (reply, end, state); at the end a second call
 * extracts the session results (e.g. OutcomeStatus) from the transcript.
 */
export class LlmAgent implements AgentBackend {
  async turn(ctx: AgentContext, event: 'start' | 'message'): Promise<AgentTurn> {
    const states = (ctx.agent.states ?? []).map((s) => s.name);
    const system = [
      promptOf(ctx),
      `You are "${ctx.agent.name}", talking to ${ctx.contact.name ?? 'a contact'} on ${ctx.stage.channel}.`,
      `Contact data: ${JSON.stringify(ctx.contact.parameters)}.`,
      states.length ? `Workflow states: ${states.join(', ')}; current state: ${ctx.state ?? states[0]}.` : '',
      event === 'start' ? 'Write the opening message of the conversation.' : '',
      TURN_INSTRUCTIONS,
    ].filter(Boolean).join('\n');
    const answer = await this.complete(ctx, [{ role: 'system', content: system }, ...history(ctx)]);
    const parsed = parseJson(answer);
    if (!parsed) return { reply: answer.trim() || null, end: false };
    const state = typeof parsed.state === 'string' && states.includes(parsed.state) ? parsed.state : undefined;
    return { reply: typeof parsed.reply === 'string' && parsed.reply.trim() ? parsed.reply : null, end: parsed.end === true, ...(state ? { state } : {}) };
  }

  async finish(ctx: AgentContext, reason: EndReason): Promise<JsonObject> {
    const fields = ctx.agent.llm?.extract ?? [{ name: 'OutcomeStatus' }];
    if (!ctx.transcript.some((m) => m.role === 'contact')) return { OutcomeStatus: 'NO_RESPONSE', ...ctx.results, endReason: reason };
    const system = [
      'Extract the results of this conversation between an agent and a contact.',
      `Answer with one JSON object with exactly these keys: ${fields.map((f) => `"${f.name}"${f.description ? ` (${f.description})` : ''}`).join(', ')}. Use null when unknown.`,
    ].join('\n');
    const transcript = ctx.transcript.map((m) => `${m.role}: ${m.content}`).join('\n');
    const parsed = parseJson(await this.complete(ctx, [{ role: 'system', content: system }, { role: 'user', content: transcript }])) ?? {};
    const extracted = Object.fromEntries(fields.map((f) => [f.name, (parsed[f.name] ?? null) as JsonObject[string]]));
    return { ...ctx.results, ...extracted, endReason: reason };
  }

  private async complete(ctx: AgentContext, messages: ChatMessage[]): Promise<string> {
    if (!ctx.llm) throw new Error(`agent "${ctx.agent.name}": no LLM integration (set the campaign's LLM Settings or llm.integration)`);
    return chatCompletion(ctx.llm, { model: ctx.agent.llm?.model, messages });
  }
}

export interface ChatMessage { role: string; content: string }

/**
 * One chat completion of an OpenAI-compatible endpoint (an integration of
 * type llm): the answer's choices[0].message.content. Used by the agent's
 * turns and extraction and by deep analysis. `responseFormat` defaults to
 * `{type: "json_object"}`.
 */
export async function chatCompletion(llm: IntegrationRecord, request: { model?: string | null; messages: ChatMessage[]; responseFormat?: Record<string, unknown> },
  options: { maxWaitMs?: number } = {}): Promise<string> {
  const c = llm.config as unknown as LlmConfig;
  let serverErrors = 0;
  const response = await providerFetch(`${c.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(c.apiKey ? { authorization: `Bearer ${c.apiKey}` } : {}) },
    body: JSON.stringify({ model: request.model || c.model, temperature: c.temperature ?? 0.2, messages: request.messages, response_format: request.responseFormat ?? { type: 'json_object' } }),
  }, {
    what: 'LLM', retryLostResponse: true, maxWaitMs: options.maxWaitMs,
    // A completion changes nothing: a 429 waits its Retry-After, a 5xx (the endpoint's own trouble) is asked again twice.
    retryAfter: (r) => (r.status === 429 ? retryAfterHeader(r.headers) ?? 1000 : r.status >= 500 && ++serverErrors <= SERVER_ERROR_RETRIES ? 500 * serverErrors : null),
  });
  const body = response.json as { choices?: { message?: { content?: string } }[]; error?: { message?: string } } | null;
  if (!response.ok) throw new Error(`LLM answered ${response.status}: ${body?.error?.message ?? response.text.slice(0, 200)}`);
  const content = body?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new Error('LLM answer has no choices[0].message.content');
  return content;
}

function history(ctx: AgentContext): { role: string; content: string }[] {
  return ctx.transcript.map((m) => ({ role: m.role === 'agent' ? 'assistant' : 'user', content: m.content }));
}

/** The first JSON object in a model's answer (it may be wrapped in text or a code fence), or null. */
export function parseJson(text: string): Record<string, unknown> | null {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  try {
    const value = JSON.parse(text.slice(start, end + 1));
    return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}
