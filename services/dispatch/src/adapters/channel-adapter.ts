import type { ContactState, JsonObject, WebhookReply, WebhookRequest } from '@herald/contracts';
import type { AgentDefinition } from '../agents/agent-registry';
import type { IntegrationRecord } from '../integrations/integrations';
import type { SessionRecord } from '../sessions/session-store';

/** The stage as this communication uses it: the chosen A/B variant's channel, agent and settings, or the stage's own. */
export interface ResolvedStage {
  readonly name: string;
  readonly channel: string;
  readonly agent: string | null;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly variant: string | null;
}

/** One started communication, with what an adapter needs to carry it out. */
export interface DispatchRequest {
  readonly workspaceId: string;
  readonly communicationId: string;
  readonly sessionId: string;
  readonly contact: ContactState;
  readonly stage: ResolvedStage;
  readonly agent: AgentDefinition | null;
  /** The integration the stage sends through (resolved from the settings or the agent), if any. */
  readonly integration: IntegrationRecord | null;
  /** The first message: the stage's start phrase or template, else the agent's opening, rendered. */
  readonly opening: string | null;
  /** Where providers reach Herald (callbacks, unsubscribe links): HERALD_PUBLIC_URL. */
  readonly publicUrl: string;
}

/** How the channel reported the communication's end. */
export interface DispatchOutcome {
  readonly status: 'COMPLETED' | 'INTERRUPTED' | 'ERROR';
  readonly sessionStatus: string | null;
  readonly result: string | null;
  readonly sessionResults: JsonObject | null;
  /** The provider's id of what was sent, kept in the send ledger. */
  readonly providerMessageId?: string | null;
  /** The A/B variant label dispatch chose itself (recorded with CommunicationUpdated before the end). */
  readonly chosenVariant?: string | null;
}

/** A one-way channel is done at once; a two-way channel opens a session the contact can answer in. */
export type StartResult =
  | { readonly kind: 'ended'; readonly outcome: DispatchOutcome }
  | {
      readonly kind: 'open';
      /** The contact's address on the channel: inbound messages from it belong to this session. */
      readonly address: string | null;
      readonly providerMessageId: string | null;
      /** The transcript text of what went out (null: nothing was said yet, e.g. a call that rings). */
      readonly sent: string | null;
      /** Adapter data kept on the session (email Message-IDs, call ids). */
      readonly thread?: JsonObject;
    };

/** What a webhook may do with the conversation engine. */
export interface ConversationPort {
  /** A contact's message: appended once per provider message id (redeliveries are no-ops); opt-out keywords take effect at once. */
  receive(message: InboundMessage): Promise<'accepted' | 'duplicate' | 'no_session' | 'opted_out'>;
  /** A delivery report of a message Herald sent. */
  deliveryStatus(update: { integration: IntegrationRecord; providerMessageId: string; status: string; error?: string | null }): Promise<void>;
  /** Ends a session from the provider's side (a call that was not answered or hung up). */
  endSession(sessionId: string, outcome: { status: DispatchOutcome['status']; sessionStatus: string; result?: string | null }): Promise<void>;
  session(sessionId: string): Promise<SessionRecord | null>;
  /** The agent's answer to a contact message, once the conversation consumer produced it. */
  agentAnswer(sessionId: string, contactMessageId: string): Promise<{ content: string | null; end: boolean } | null>;
  /** The session's transcript so far. */
  transcript(sessionId: string): Promise<{ messageId: string; role: 'agent' | 'contact'; content: string }[]>;
  /** Records what the agent said outside the conversation consumer (a call's opening), once per `cause`. */
  agentSaid(sessionId: string, cause: string, text: string): Promise<void>;
  /** The event-level message id a provider message id maps to. */
  messageIdFor(integration: IntegrationRecord, providerMessageId: string): string;
}

export interface InboundMessage {
  readonly integration: IntegrationRecord;
  readonly channel: string | readonly string[];
  /** The sender's address on the channel (phone number, chat id, email). */
  readonly address: string;
  readonly providerMessageId: string;
  readonly text: string;
  /** When the provider tells which session it belongs to (call ids, email threads). */
  readonly sessionId?: string;
  readonly at?: string;
}

/**
 * One channel behind one interface. `start` is called at most once per
 * communication id (the send ledger guards it); a thrown error means the
 * provider was not reached (or its answer was lost) and ends the
 * communication with ERROR.
 */
export interface ChannelAdapter {
  readonly channel: string;
  /**
   * Starting a communication again reaches no one twice (No Communication sends nothing): a send left
   * in progress by a dispatcher that died is started again, instead of ending as an unknown delivery.
   */
  readonly restartable?: boolean;
  start(request: DispatchRequest): Promise<StartResult>;
  /** Sends the agent's message in an open session (two-way channels); called at most once per message. */
  reply?(session: SessionRecord, text: string, context: { contact: ContactState; messageId: string; integration: IntegrationRecord | null; publicUrl: string }): Promise<{ providerMessageId: string | null }>;
  /** Ends the conversation on the provider's side when the session ends (hang up). */
  finish?(session: SessionRecord, integration: IntegrationRecord | null): Promise<void>;
  /** Integration types whose webhooks this adapter verifies and reads. */
  readonly webhookTypes?: readonly string[];
  /** Verifies the signature (403 and no effect when it fails) and applies the webhook. */
  webhook?(request: WebhookRequest, integration: IntegrationRecord, port: ConversationPort): Promise<WebhookReply>;
  /** Starts the adapter's own listeners (inbound SMTP). */
  listen?(): Promise<void>;
  close?(): Promise<void>;
}

export const ok = (body = 'ok', contentType = 'text/plain'): WebhookReply => ({ status: 200, contentType, body });
export const forbidden = (why: string): WebhookReply => ({ status: 403, contentType: 'text/plain', body: `forbidden: ${why}` });
export const badRequest = (why: string): WebhookReply => ({ status: 400, contentType: 'text/plain', body: why });
export const ended = (status: DispatchOutcome['status'], sessionStatus: string, result: string | null, sessionResults: JsonObject | null = null, providerMessageId: string | null = null): StartResult =>
  ({ kind: 'ended', outcome: { status, sessionStatus, result, sessionResults, providerMessageId } });
export const notSent = (result: string): StartResult => ended('ERROR', 'NOT_SENT', result);
