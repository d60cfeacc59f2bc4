import type { ContactState, JsonObject } from '@herald/contracts';
import type { IntegrationRecord } from '../integrations/integrations';
import type { AgentDefinition } from './agent-registry';

export interface TranscriptMessage { readonly role: 'agent' | 'contact'; readonly content: string; readonly createdAt: string }

/** What an agent sees on each turn. */
export interface AgentContext {
  readonly agent: AgentDefinition;
  /** The workflow state the conversation is in (the stage's start state first). */
  readonly state: string | null;
  readonly contact: ContactState;
  readonly stage: { readonly name: string; readonly channel: string; readonly settings: Readonly<Record<string, unknown>> };
  readonly sessionId: string;
  readonly communicationId: string;
  /** Everything said so far, oldest first; on a 'message' turn the last one is the contact's. */
  readonly transcript: readonly TranscriptMessage[];
  /** Results gathered by earlier turns. */
  readonly results: JsonObject;
  /** The campaign's LLM Settings integration (or the agent's own), for LLM agents. */
  readonly llm: IntegrationRecord | null;
}

export interface AgentTurn {
  /** What to send to the contact; null sends nothing. */
  readonly reply: string | null;
  /** The agent decided the conversation is over. */
  readonly end: boolean;
  readonly state?: string | null;
  /** Merged into the session's results. */
  readonly results?: JsonObject;
}

export type EndReason = 'agent' | 'timeout' | 'opt_out' | 'error' | 'provider';

/** One agent backend: built-in LLM, external webhook, scripted rules. */
export interface AgentBackend {
  /** 'start': the opening message (null when the stage's own start phrase or template opens); 'message': answer the contact. */
  turn(ctx: AgentContext, event: 'start' | 'message'): Promise<AgentTurn>;
  /** The session_results when the conversation ends (the LLM agent extracts them from the transcript). */
  finish(ctx: AgentContext, reason: EndReason): Promise<JsonObject>;
}

/** The system prompt of the state the conversation is in. */
export const promptOf = (ctx: AgentContext): string =>
  ctx.agent.states?.find((s) => s.name === ctx.state)?.prompt ?? ctx.agent.states?.[0]?.prompt ?? '';
