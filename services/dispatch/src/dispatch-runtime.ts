import type { Pool } from 'pg';
import { dispatchRequestsTopic } from '@herald/contracts';
import type { BusSubscription, EventBus } from '@herald/bus';
import { secureTenantTables } from '@herald/service-defaults';
import type { EventStore } from '@herald/event-store';
import type { ChannelAdapter } from './adapters/channel-adapter';
import { EmailCommunicationAdapter, type InboundSmtpOptions } from './adapters/email/email-communication.adapter';
import { EmailNotificationAdapter } from './adapters/email/email-notification.adapter';
import { SmtpTransports } from './adapters/email/smtp-transports';
import { NoCommunicationAdapter } from './adapters/no-communication.adapter';
import { WhatsAppAdapter } from './adapters/whatsapp/whatsapp.adapter';
import { TelegramAdapter } from './adapters/telegram/telegram.adapter';
import { TwilioAdapter } from './adapters/twilio/twilio.adapter';
import { InfobipAdapter } from './adapters/infobip/infobip.adapter';
import { MessageBirdAdapter } from './adapters/messagebird/messagebird.adapter';
import { MobilePushAdapter } from './adapters/push/mobile-push.adapter';
import { SipAdapter } from './adapters/sip/sip.adapter';
import { SipUserAgent } from './adapters/sip/sip-user-agent';
import type { AgentBackend } from './agents/agent-backend';
import { AGENTS_SCHEMA, AgentRegistry } from './agents/agent-registry';
import { LlmAgent } from './agents/llm-agent';
import { ScriptedAgent } from './agents/scripted-agent';
import { WebhookAgent } from './agents/webhook-agent';
import { DispatchHandler } from './dispatch-handler';
import { HUMAN_SCHEMA, HumanQueue } from './human/human-queue';
import { INTEGRATIONS_SCHEMA, Integrations } from './integrations/integrations';
import { TokenSigner, type SecretBox } from './secrets/secret-box';
import { SEND_LEDGER_SCHEMA, SendLedger } from './send-ledger';
import { startConversationConsumer, startSenders, startTranscriptConsumer } from './consumers';
import { Conversations } from './sessions/conversations';
import { OptOuts } from './sessions/opt-outs';
import { SESSIONS_SCHEMA, SessionStore } from './sessions/session-store';
import { SilenceTimer } from './sessions/silence-timer';
import { projectTranscript, projectTranscriptMany } from './sessions/transcript-projection';
import { Unsubscribe } from './webhooks/unsubscribe';
import { ANALYSIS_SCHEMA } from './deep-analysis/analysis-schema';
import type { AnalysisWorkerOptions } from './deep-analysis/analysis-worker';
import { DeepAnalysis } from './deep-analysis/deep-analysis';
import { WebhookRouter } from './webhooks/webhook-router';

export interface RuntimeOptions {
  readonly pool: Pool;
  readonly store: EventStore;
  readonly box: SecretBox;
  /** Where providers and contacts reach Herald's API (HERALD_PUBLIC_URL). */
  readonly publicUrl: string;
  /** Channels served by an external adapter (docs/channel-adapters.md): no built-in adapter consumes their requests. */
  readonly externalChannels?: readonly string[];
  /** Where Email Communication replies come in (HERALD_INBOUND_SMTP_PORT); null: no inbound server. */
  readonly inboundSmtp?: InboundSmtpOptions | null;
  /** Local UDP port of the SIP user agent (HERALD_SIP_PORT; default: any free port). */
  readonly sipPort?: number;
  /** Dispatch requests (of different contacts) carried out at once (HERALD_DISPATCH_CONCURRENCY; default SENDER_CONCURRENCY). */
  readonly senderConcurrency?: number;
  /** The deep analysis worker (HERALD_ANALYSIS_CONCURRENCY; tests shorten its poll and lease). */
  readonly analysis?: AnalysisWorkerOptions;
}

/** Dispatch requests the senders' consumer carries out at once by default (HERALD_DISPATCH_CONCURRENCY). */
export const SENDER_CONCURRENCY = 16;

export const DISPATCH_SCHEMAS = [INTEGRATIONS_SCHEMA, SEND_LEDGER_SCHEMA, AGENTS_SCHEMA, SESSIONS_SCHEMA, HUMAN_SCHEMA, ANALYSIS_SCHEMA];

/** Every part of dispatch, wired once: used by the Nest module and by tests alike. */
export class DispatchRuntime {
  readonly integrations: Integrations;
  readonly agents: AgentRegistry;
  readonly sessions: SessionStore;
  readonly optOuts: OptOuts;
  readonly ledger: SendLedger;
  readonly transports = new SmtpTransports();
  readonly adapters: ReadonlyMap<string, ChannelAdapter>;
  readonly conversations: Conversations;
  readonly handler: DispatchHandler;
  readonly webhooks: WebhookRouter;
  readonly unsubscribe: Unsubscribe;
  readonly signer: TokenSigner | null;
  readonly human: HumanQueue;
  readonly email: EmailCommunicationAdapter;
  readonly analysis: DeepAnalysis;

  constructor(readonly options: RuntimeOptions) {
    const { pool, store, box, publicUrl } = options;
    this.integrations = new Integrations(pool, box);
    this.agents = new AgentRegistry(pool, box);
    this.sessions = new SessionStore(pool);
    this.optOuts = new OptOuts(pool);
    this.ledger = new SendLedger(pool);
    this.signer = TokenSigner.from(box);
    this.unsubscribe = new Unsubscribe(this.signer, this.optOuts, publicUrl);
    this.human = new HumanQueue(pool, store);
    const link = (ws: string, channel: string, address: string) => this.unsubscribe.link(ws, channel, address);
    this.email = new EmailCommunicationAdapter(this.transports, link, {
      sessions: this.sessions, integrations: this.integrations, port: () => this.conversations, options: options.inboundSmtp ?? null,
    });
    const all: ChannelAdapter[] = [
      new EmailNotificationAdapter(this.transports, link),
      this.email,
      new WhatsAppAdapter(),
      new TelegramAdapter(),
      new TwilioAdapter(),
      new InfobipAdapter(),
      new MessageBirdAdapter('messagebird_whatsapp'),
      new MessageBirdAdapter('messagebird_webhook'),
      new MobilePushAdapter(),
      new SipAdapter(new SipUserAgent(options.sipPort ?? 0), () => this.conversations),
      this.human,
      new NoCommunicationAdapter(),
    ];
    const external = new Set(options.externalChannels ?? []);
    this.adapters = new Map(all.filter((a) => !external.has(a.channel)).map((a) => [a.channel, a]));
    const backends: Record<'llm' | 'webhook' | 'scripted', AgentBackend> = { llm: new LlmAgent(), webhook: new WebhookAgent(), scripted: new ScriptedAgent() };
    this.conversations = new Conversations({
      store, sessions: this.sessions, agents: this.agents, integrations: this.integrations, optOuts: this.optOuts, ledger: this.ledger,
      adapters: this.adapters, backends, publicUrl,
    });
    this.handler = new DispatchHandler({
      store, ledger: this.ledger, adapters: this.adapters, integrations: this.integrations, agents: this.agents, sessions: this.sessions,
      optOuts: this.optOuts, conversations: this.conversations, publicUrl,
    });
    this.webhooks = new WebhookRouter(this.integrations, [...this.adapters.values()], this.conversations);
    this.analysis = new DeepAnalysis(pool, store, this.integrations, options.analysis);
  }

  /** Listeners of their own (the inbound SMTP server) start here. */
  async start(): Promise<void> {
    for (const adapter of this.adapters.values()) await adapter.listen?.();
  }

  /**
   * The consumers: the requests of the channels served here (several at once, see consumers.ts), the
   * conversation consumer (one agent answer per contact message), the
   * transcript read model; and the silence timer.
   */
  async startWorkers(bus: EventBus, options: { silenceCheckMs?: number } = {}): Promise<{ stop(): Promise<void> }> {
    const pool = this.options.pool;
    const subscriptions: BusSubscription[] = [];
    subscriptions.push(await startSenders(bus, {
      group: 'dispatch.senders', topics: [...this.adapters.keys()].map((c) => dispatchRequestsTopic(c)),
      handle: (event) => this.handler.handle(event), handleBatch: (events, o) => this.handler.handleBatch(events, o),
      concurrency: this.options.senderConcurrency ?? SENDER_CONCURRENCY,
    }));
    subscriptions.push(await startConversationConsumer(bus, pool, (event) => this.conversations.onEvent(event)));
    subscriptions.push(await startTranscriptConsumer(bus, pool, projectTranscript, projectTranscriptMany));
    subscriptions.push(await this.analysis.subscribe(bus));
    this.analysis.worker.start();
    const timer = new SilenceTimer(this.conversations, this.sessions, options.silenceCheckMs);
    timer.start();
    return {
      stop: async () => {
        await timer.stop();
        await this.analysis.worker.stop();
        await Promise.allSettled(subscriptions.map((s) => s.close()));
      },
    };
  }

  async ensureSchema(): Promise<void> {
    for (const sql of DISPATCH_SCHEMAS) await this.options.pool.query(sql);
    await secureTenantTables(this.options.pool);
  }

  async close(): Promise<void> {
    this.transports.close();
    await Promise.allSettled([...this.adapters.values()].map((a) => a.close?.()));
  }
}
