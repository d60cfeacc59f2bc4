import { createHmac } from 'node:crypto';
import type { JsonObject } from '@herald/contracts';
import { providerFetch } from '../adapters/provider-http';
import type { AgentBackend, AgentContext, AgentTurn, EndReason } from './agent-backend';

/**
 * An agent that lives elsewhere, reached by HTTP: each turn POSTs the
 * conversation as JSON, signed with `X-Herald-Signature: sha256=<HMAC of the
 * body with the agent's secret>`; the answer is {reply, end, state, results}.
 * At the end the event is "end" and the answer's `results` are the session results.
 */
export class WebhookAgent implements AgentBackend {
  async turn(ctx: AgentContext, event: 'start' | 'message'): Promise<AgentTurn> {
    const a = await this.call(ctx, event);
    return {
      reply: typeof a.reply === 'string' && a.reply ? a.reply : null,
      end: a.end === true,
      ...(typeof a.state === 'string' ? { state: a.state } : {}),
      ...(a.results && typeof a.results === 'object' && !Array.isArray(a.results) ? { results: a.results as JsonObject } : {}),
    };
  }

  async finish(ctx: AgentContext, reason: EndReason): Promise<JsonObject> {
    const a = await this.call(ctx, 'end', reason).catch(() => ({} as Record<string, unknown>));
    const results = a.results && typeof a.results === 'object' && !Array.isArray(a.results) ? (a.results as JsonObject) : {};
    return { ...ctx.results, ...results, endReason: reason };
  }

  private async call(ctx: AgentContext, event: string, reason?: EndReason): Promise<Record<string, unknown>> {
    const hook = ctx.agent.webhook;
    if (!hook) throw new Error(`agent "${ctx.agent.name}" has no webhook`);
    const body = JSON.stringify({
      event, reason: reason ?? null, agent: ctx.agent.name, state: ctx.state, sessionId: ctx.sessionId, communicationId: ctx.communicationId,
      stage: ctx.stage, results: ctx.results, transcript: ctx.transcript,
      contact: { key: ctx.contact.key, name: ctx.contact.name, email: ctx.contact.email, phone: ctx.contact.phone, parameters: ctx.contact.parameters, internalData: ctx.contact.internalData },
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (hook.secret) headers['x-herald-signature'] = `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`;
    const r = await providerFetch(hook.url, { method: 'POST', headers, body }, { what: 'agent webhook', retryLostResponse: true });
    if (!r.ok) throw new Error(`agent webhook answered ${r.status}: ${r.text.slice(0, 200)}`);
    return (r.json as Record<string, unknown>) ?? {};
  }
}
