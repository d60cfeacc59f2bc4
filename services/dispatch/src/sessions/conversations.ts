import { Logger } from '@nestjs/common';
import { campaignStreamId, deterministicEventId, newEvent, type JsonObject, type MetadataInput, type RecordedEvent } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { rebuild as rebuildCampaign, type CampaignState } from '@herald/campaign-model';
import type { ContactEvent } from '@herald/contact-model';
import type { ChannelAdapter, ConversationPort, DispatchOutcome, InboundMessage, ResolvedStage } from '../adapters/channel-adapter';
import type { AgentBackend, AgentContext, EndReason } from '../agents/agent-backend';
import type { AgentDefinition, AgentRegistry } from '../agents/agent-registry';
import type { IntegrationRecord, Integrations } from '../integrations/integrations';
import type { SendLedger } from '../send-ledger';
import { endCommunication, loadContact, sessionMessage, transcriptOf, type ContactSnapshot } from './contact-stream';
import { normalizeAddress, optOutKeyword, type OptOuts } from './opt-outs';
import type { SessionRecord, SessionStore } from './session-store';
import { resolveStage } from './stage-resolution';

export interface ConversationDeps {
  readonly store: EventStore;
  readonly sessions: SessionStore;
  readonly agents: AgentRegistry;
  readonly integrations: Integrations;
  readonly optOuts: OptOuts;
  readonly ledger: SendLedger;
  readonly adapters: ReadonlyMap<string, ChannelAdapter>;
  readonly backends: Readonly<Record<'llm' | 'webhook' | 'scripted', AgentBackend>>;
  readonly publicUrl: string;
}

/** How each way of ending maps onto the communication's end. */
const END_OUTCOME: Record<EndReason, { status: DispatchOutcome['status']; sessionStatus: string }> = {
  agent: { status: 'COMPLETED', sessionStatus: 'ENDED_BY_AGENT' },
  timeout: { status: 'COMPLETED', sessionStatus: 'TIMEOUT' },
  opt_out: { status: 'INTERRUPTED', sessionStatus: 'OPTED_OUT' },
  error: { status: 'ERROR', sessionStatus: 'ERROR' },
  provider: { status: 'COMPLETED', sessionStatus: 'ENDED' },
};

/**
 * Conversations: contact messages come in by webhook and are appended once
 * (deterministic ids from the provider's message id); the conversation
 * consumer answers each one through the agent, under the send ledger (at
 * most one reply per contact message); a session ends by the agent's
 * decision, the contact's silence, an opt-out or an error, and its end is
 * the communication's end (CommunicationEnded with the session results).
 */
export class Conversations implements ConversationPort {
  private readonly logger = new Logger('Conversations');

  constructor(private readonly d: ConversationDeps) {}

  // ---- inbound (webhooks) ----

  messageIdFor(integration: IntegrationRecord, providerMessageId: string): string {
    return deterministicEventId(`in:${integration.workspaceId}:${integration.name}:${providerMessageId}`);
  }

  async receive(m: InboundMessage): Promise<'accepted' | 'duplicate' | 'no_session' | 'opted_out'> {
    const ws = m.integration.workspaceId;
    const channels = typeof m.channel === 'string' ? [m.channel] : [...m.channel];
    const address = normalizeAddress(m.address);
    const keyword = optOutKeyword(m.text);
    // The opt-out holds from this moment, whether or not a session is open.
    if (keyword && address) for (const c of channels) await this.d.optOuts.record(ws, c, address, keyword);
    const session = m.sessionId ? await this.d.sessions.get(m.sessionId) : address ? await this.d.sessions.openFor(ws, channels, address) : null;
    if (!session || session.workspaceId !== ws || session.status === 'closed') return keyword ? 'opted_out' : 'no_session';
    const cause = `in:${ws}:${m.integration.name}:${m.providerMessageId}`;
    const event = sessionMessage(cause, { communicationId: session.communicationId, sessionId: session.sessionId, role: 'contact', content: m.text, createdAt: m.at },
      { workspaceId: ws, correlationId: session.sessionId });
    const appended = await this.d.store.append(session.streamId, [event], 'any');
    if (!appended.duplicate) await this.d.sessions.touch(session.sessionId);
    return keyword ? 'opted_out' : appended.duplicate ? 'duplicate' : 'accepted';
  }

  async deliveryStatus(u: { integration: IntegrationRecord; providerMessageId: string; status: string; error?: string | null }): Promise<void> {
    const session = await this.d.sessions.byProviderMessage(u.integration.workspaceId, u.integration.name, u.providerMessageId);
    if (!session) return;
    const status = u.status.toUpperCase();
    const event = newEvent('CommunicationUpdated', {
      communicationId: session.communicationId,
      changes: { sessionStatus: status, ...(u.error ? { result: u.error } : {}) },
    }, { workspaceId: session.workspaceId, correlationId: session.sessionId, eventId: deterministicEventId(`status:${u.integration.name}:${u.providerMessageId}:${status}`) });
    const snapshot = await loadContact(this.d.store, session.streamId);
    // A report arriving after the end changes nothing: the ended communication keeps its final status.
    if (snapshot?.contact.communications.find((c) => c.id === session.communicationId)?.status !== 'STARTED') return;
    await this.d.store.append(session.streamId, [event], 'any');
    if (status === 'FAILED' || status === 'UNDELIVERABLE' || status === 'REJECTED') {
      await this.endSession(session.sessionId, { status: 'ERROR', sessionStatus: status, result: u.error ?? `the provider reported ${status}` });
    }
  }

  async agentSaid(sessionId: string, cause: string, text: string): Promise<void> {
    const session = await this.d.sessions.get(sessionId);
    if (!session) return;
    await this.d.store.append(session.streamId, [sessionMessage(cause, { communicationId: session.communicationId, sessionId, role: 'agent', content: text },
      { workspaceId: session.workspaceId, correlationId: sessionId })], 'any');
  }

  session(sessionId: string): Promise<SessionRecord | null> {
    return this.d.sessions.get(sessionId);
  }

  async transcript(sessionId: string) {
    const session = await this.d.sessions.get(sessionId);
    if (!session) return [];
    return transcriptOf(await this.d.store.readStream(session.streamId), sessionId).map(({ messageId, role, content }) => ({ messageId, role, content }));
  }

  async agentAnswer(sessionId: string, contactMessageId: string): Promise<{ content: string | null; end: boolean } | null> {
    const session = await this.d.sessions.get(sessionId);
    if (!session) return null;
    const events = await this.d.store.readStream(session.streamId);
    const answerId = deterministicEventId(`reply:${contactMessageId}`);
    const answer = transcriptOf(events, sessionId).find((m) => m.eventId === answerId);
    const ended = events.some((e) => e.type === 'CommunicationEnded' && (e.data as { communicationId: string }).communicationId === session.communicationId);
    if (answer) return { content: answer.content, end: ended };
    const entry = await this.d.ledger.entry(`reply:${contactMessageId}`);
    if (entry && entry.state !== 'sending' && (entry.outcome as { reply?: string | null } | null)?.reply == null) return { content: null, end: ended };
    return ended ? { content: null, end: true } : null;
  }

  // ---- the conversation consumer ----

  /** Answers each contact message once (consumer of contact.events). */
  async onEvent(recorded: RecordedEvent): Promise<void> {
    const event = recorded as RecordedEvent<ContactEvent>;
    if (event.type !== 'SessionMessageAdded' || event.data.role !== 'contact') return;
    const m = event.data;
    const session = await this.d.sessions.get(m.sessionId);
    if (!session || session.status !== 'open') return;
    const meta: MetadataInput = { workspaceId: session.workspaceId, correlationId: event.metadata.correlationId, causationId: event.metadata.eventId };
    if (optOutKeyword(m.content)) {
      await this.endSession(session.sessionId, { ...END_OUTCOME.opt_out, result: `the contact opted out ("${m.content.trim()}")` }, 'opt_out');
      return;
    }
    const ledgerKey = `reply:${m.messageId}`;
    const claim = await this.d.ledger.claim(ledgerKey, session.workspaceId, session.channel);
    if (claim !== true) {
      // Answered before (a redelivery): make sure its events exist; a crash mid-send is never resent.
      if (claim.state === 'sent') await this.recordTurn(session, m.messageId, claim.outcome as TurnRecord, meta);
      return;
    }
    let turn: TurnRecord;
    try {
      const ctx = await this.context(session);
      const answer = await this.backend(ctx.agent).turn(ctx, 'message');
      turn = { reply: answer.reply, end: answer.end, state: answer.state ?? null, results: answer.results ?? null, providerMessageId: null };
      if (answer.reply) {
        const address = session.address;
        if (address && (await this.d.optOuts.isOptedOut(session.workspaceId, session.channel, address))) {
          await this.d.ledger.record(ledgerKey, 'failed', { reason: 'opted out' }, null);
          await this.endSession(session.sessionId, { ...END_OUTCOME.opt_out, result: 'the contact opted out of this channel' }, 'opt_out');
          return;
        }
        const adapter = this.d.adapters.get(session.channel);
        if (!adapter?.reply) throw new Error(`channel "${session.channel}" cannot send replies`);
        const integration = session.integration ? await this.d.integrations.find(session.workspaceId, session.integration) : null;
        const sent = await adapter.reply(session, answer.reply, { contact: ctx.contact, messageId: deterministicEventId(ledgerKey), integration, publicUrl: this.d.publicUrl });
        turn = { ...turn, providerMessageId: sent.providerMessageId };
        if (sent.providerMessageId && integration) await this.d.sessions.rememberProviderMessage(session.workspaceId, integration.name, sent.providerMessageId, session.sessionId);
      }
    } catch (error) {
      await this.d.ledger.record(ledgerKey, 'failed', { error: (error as Error).message }, null);
      this.logger.warn(`session ${session.sessionId}: ${(error as Error).message}`);
      await this.endSession(session.sessionId, { ...END_OUTCOME.error, result: (error as Error).message }, 'error');
      return;
    }
    await this.d.ledger.record(ledgerKey, 'sent', turn, turn.providerMessageId);
    await this.recordTurn(session, m.messageId, turn, meta);
  }

  /** The agent's message as an event, the session's new state and results, and the end when the agent decided so. */
  private async recordTurn(session: SessionRecord, contactMessageId: string, turn: TurnRecord, meta: MetadataInput): Promise<void> {
    const message = turn.reply
      ? [sessionMessage(`reply:${contactMessageId}`, { communicationId: session.communicationId, sessionId: session.sessionId, role: 'agent', content: turn.reply }, meta)]
      : [];
    await this.d.sessions.update(session.sessionId, { ...(turn.state ? { state: turn.state } : {}), ...(turn.results ? { results: turn.results } : {}) });
    if (turn.end) {
      await this.endSession(session.sessionId, { ...END_OUTCOME.agent }, 'agent', message);
      return;
    }
    if (message.length) await this.d.store.append(session.streamId, message, 'any');
    await this.d.sessions.touch(session.sessionId);
  }

  // ---- ending ----

  async endSession(sessionId: string, outcome: { status: DispatchOutcome['status']; sessionStatus: string; result?: string | null }, reason: EndReason = 'provider', before: ReturnType<typeof sessionMessage>[] = []): Promise<void> {
    const session = await this.d.sessions.get(sessionId);
    if (!session || session.status === 'closed') {
      if (session && before.length) await this.d.store.append(session.streamId, before, 'any');
      return;
    }
    if (session.status === 'open' && !(await this.d.sessions.claimForEnd(sessionId))) return;
    await this.finish(session, outcome, reason, before);
  }

  /** Ends a claimed session: results from the agent (LLM extraction), CommunicationEnded, the provider side closed. */
  private async finish(session: SessionRecord, outcome: { status: DispatchOutcome['status']; sessionStatus: string; result?: string | null }, reason: EndReason, before: ReturnType<typeof sessionMessage>[] = []): Promise<void> {
    let sessionResults: JsonObject = { ...session.results, endReason: reason };
    try {
      const ctx = await this.context(session);
      // The agent's own last message is part of what the extraction reads.
      const withLast = { ...ctx, transcript: [...ctx.transcript, ...before.map((e) => e.data as { role: 'agent'; content: string; createdAt: string })] };
      sessionResults = await this.backend(ctx.agent).finish(withLast, reason);
    } catch (error) {
      this.logger.warn(`session ${session.sessionId}: results not extracted: ${(error as Error).message}`);
      sessionResults = { ...sessionResults, extractionError: (error as Error).message };
    }
    sessionResults = { ...sessionResults, sessionId: session.sessionId };
    await endCommunication(this.d.store, session.streamId, session.communicationId,
      { status: outcome.status, sessionStatus: outcome.sessionStatus, result: outcome.result ?? null, sessionResults },
      { workspaceId: session.workspaceId, correlationId: session.sessionId }, before);
    await this.d.sessions.close(session.sessionId, reason);
    const adapter = this.d.adapters.get(session.channel);
    const integration = session.integration ? await this.d.integrations.find(session.workspaceId, session.integration) : null;
    await adapter?.finish?.(session, integration).catch((error) => this.logger.warn(`session ${session.sessionId}: ${(error as Error).message}`));
  }

  /**
   * Ends sessions whose contact stayed silent past the deadline, unless a
   * strategy extended it through the contact's internal_data:
   * `session_timeout_until` (a datetime) or `session_timeout_seconds`
   * (silence allowed after the last message).
   */
  async expireDue(limit = 50): Promise<number> {
    const due = await this.d.sessions.claimDue(limit);
    for (const session of due) {
      try {
        const snapshot = await loadContact(this.d.store, session.streamId);
        const extended = snapshot ? extensionOf(snapshot, session) : null;
        if (extended && extended.getTime() > Date.now()) {
          await this.d.sessions.extend(session.sessionId, extended);
          continue;
        }
        const answered = snapshot ? transcriptOf(snapshot.events, session.sessionId).some((m) => m.role === 'contact') : false;
        await this.finish(session, { status: 'COMPLETED', sessionStatus: answered ? 'TIMEOUT' : 'NO_RESPONSE', result: 'the contact stayed silent' }, 'timeout');
      } catch (error) {
        this.logger.warn(`session ${session.sessionId}: timeout not applied: ${(error as Error).message}`);
      }
    }
    return due.length;
  }

  // ---- context ----

  /** What the agent sees; `known` spares the reads a caller has just made (dispatch opening a conversation). */
  async context(session: SessionRecord, loaded?: ContactSnapshot, known?: { campaign: CampaignState | null; agent: AgentDefinition }): Promise<AgentContext & { agent: AgentDefinition }> {
    const snapshot = loaded ?? (await loadContact(this.d.store, session.streamId));
    if (!snapshot) throw new Error(`contact ${session.contactKey} not found`);
    const campaign = known ? known.campaign : rebuildCampaign(await this.d.store.readStream(campaignStreamId(session.campaignId)));
    const communication = snapshot.contact.communications.find((c) => c.id === session.communicationId);
    const stage = campaign?.stages.find((s) => s.name === communication?.stageName);
    const resolved: ResolvedStage = stage
      ? resolveStage(stage, { communicationId: session.communicationId, channel: session.channel, agent: session.agent, variant: communication?.variant ?? null })
      : { name: communication?.stageName ?? '', channel: session.channel, agent: session.agent, settings: {}, variant: null };
    const agent = known && known.agent.name === session.agent ? known.agent : await this.d.agents.find(session.workspaceId, session.agent);
    if (!agent) throw new Error(`agent "${session.agent ?? ''}" is not in the registry`);
    return {
      agent, state: session.state, contact: snapshot.contact, stage: { name: resolved.name, channel: resolved.channel, settings: resolved.settings },
      sessionId: session.sessionId, communicationId: session.communicationId, results: session.results,
      transcript: transcriptOf(snapshot.events, session.sessionId), llm: await this.llmFor(session.workspaceId, campaign, agent),
    };
  }

  async llmFor(workspaceId: string, campaign: CampaignState | null, agent: AgentDefinition): Promise<IntegrationRecord | null> {
    if (agent.backend !== 'llm') return null;
    const name = campaign?.settings?.llmIntegration ?? agent.llm?.integration;
    return name ? this.d.integrations.ofType(workspaceId, name, ['llm']) : null;
  }

  backend(agent: AgentDefinition): AgentBackend {
    return this.d.backends[agent.backend];
  }
}

/** What the ledger keeps of one agent turn (enough to append its events again after a crash). */
interface TurnRecord { reply: string | null; end: boolean; state: string | null; results: JsonObject | null; providerMessageId: string | null }

function extensionOf(snapshot: ContactSnapshot, session: SessionRecord): Date | null {
  const data = snapshot.contact.internalData;
  const candidates: number[] = [];
  const until = data.session_timeout_until;
  if (typeof until === 'string' && !Number.isNaN(Date.parse(until))) candidates.push(Date.parse(until));
  const seconds = Number(data.session_timeout_seconds);
  if (Number.isFinite(seconds) && seconds > 0) candidates.push(session.lastActivity.getTime() + seconds * 1000);
  return candidates.length ? new Date(Math.max(...candidates)) : null;
}
