import type { JsonObject } from '@herald/contracts';
import { renderTemplate } from '../adapters/template';
import type { AgentBackend, AgentContext, AgentTurn, EndReason } from './agent-backend';

/**
 * Rules instead of a model, for demos and tests: the first rule whose
 * regular expression matches the contact's message answers (its reply is a
 * template with the contact's values), may move the state, record results
 * and end the conversation. No rule: the fallback, if any.
 */
export class ScriptedAgent implements AgentBackend {
  async turn(ctx: AgentContext, event: 'start' | 'message'): Promise<AgentTurn> {
    const script = ctx.agent.scripted;
    if (!script) throw new Error(`agent "${ctx.agent.name}" has no script`);
    if (event === 'start') return { reply: script.greeting ? renderTemplate(script.greeting, ctx.contact) : null, end: false };
    const last = [...ctx.transcript].reverse().find((m) => m.role === 'contact')?.content ?? '';
    const rule = script.rules.find((r) => new RegExp(r.match, 'i').test(last));
    if (!rule) return { reply: script.fallback ? renderTemplate(script.fallback, ctx.contact) : null, end: false };
    return {
      reply: rule.reply !== undefined ? renderTemplate(rule.reply, ctx.contact) : null,
      end: Boolean(rule.end),
      ...(rule.state ? { state: rule.state } : {}),
      ...(rule.results ? { results: rule.results as JsonObject } : {}),
    };
  }

  async finish(ctx: AgentContext, reason: EndReason): Promise<JsonObject> {
    const answered = ctx.transcript.some((m) => m.role === 'contact');
    return { OutcomeStatus: answered ? 'UNCERTAIN' : 'NO_RESPONSE', ...ctx.results, endReason: reason };
  }
}
