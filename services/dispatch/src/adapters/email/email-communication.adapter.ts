import { Logger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { IntegrationRecord, Integrations, SmtpConfig } from '../../integrations/integrations';
import type { SessionRecord, SessionStore } from '../../sessions/session-store';
import { notSent, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { renderTemplate } from '../template';
import type { UnsubscribeLink } from './email-notification.adapter';
import { listUnsubscribeHeaders, type SmtpTransports } from './smtp-transports';

export interface InboundSmtpOptions { readonly port: number; readonly host?: string }

const OUR_ID = /<([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.[\w-]+)?@herald>/i;

/**
 * Email Communication: a two-way conversation by email. The first email is
 * the stage's template (Message-ID `<communication id@herald>`); the agent's
 * answers go out as replies (In-Reply-To / References, `Re:` subject,
 * Message-ID `<communication id.message id@herald>`). Replies come in
 * through Herald's own SMTP server (HERALD_INBOUND_SMTP_PORT; point the
 * reply domain's MX, or the integration's replyTo, at it): a reply belongs
 * to the conversation its In-Reply-To or References name, and only when it
 * comes from the contact's address. Quoted text is cut off.
 */
export class EmailCommunicationAdapter implements ChannelAdapter {
  readonly channel = 'email_communication';
  private server: SMTPServer | null = null;
  private readonly logger = new Logger('InboundSmtp');
  port: number | null = null;

  constructor(
    private readonly transports: SmtpTransports,
    private readonly unsubscribeLink: UnsubscribeLink,
    private readonly inbound: { sessions: SessionStore; integrations: Integrations; port: () => ConversationPort; options: InboundSmtpOptions | null },
  ) {}

  async start({ workspaceId, communicationId, contact, stage, integration, opening }: DispatchRequest): Promise<StartResult> {
    if (!contact.email) return notSent('the contact has no email address');
    if (integration?.type !== 'smtp') return notSent('no SMTP integration for this stage (settings.integration or the agent\'s integrations)');
    if (!opening) return notSent('settings.template: the first email is required');
    const config = integration.config as unknown as SmtpConfig;
    const s = stage.settings as { subject?: string; inputType?: string };
    const subject = renderTemplate(s.subject ?? '', contact);
    const messageId = `<${communicationId}@herald>`;
    const info = await this.transports.get(config).sendMail({
      from: config.from, ...(config.replyTo ? { replyTo: config.replyTo } : {}),
      to: contact.name ? { name: contact.name, address: contact.email } : contact.email,
      subject, ...(s.inputType === 'html' ? { html: opening } : { text: opening }), messageId,
      headers: { 'X-Herald-Communication': communicationId, ...listUnsubscribeHeaders(this.unsubscribeLink(workspaceId, this.channel, contact.email)) },
    });
    if (!(info.accepted as unknown[]).length) return notSent(`SMTP server refused ${contact.email}: ${info.response ?? ''}`);
    return { kind: 'open', address: contact.email, providerMessageId: messageId, sent: opening, thread: { subject, references: [messageId] } };
  }

  async reply(session: SessionRecord, text: string, { contact, messageId, integration }: { contact: { name: string | null; email: string | null }; messageId: string; integration: IntegrationRecord | null }) {
    if (integration?.type !== 'smtp') throw new Error(`integration "${session.integration}" is gone`);
    const config = integration.config as unknown as SmtpConfig;
    const references = (session.thread.references as string[] | undefined) ?? [];
    const ownId = `<${session.communicationId}.${messageId}@herald>`;
    const subject = String(session.thread.subject ?? '');
    await this.transports.get(config).sendMail({
      from: config.from, ...(config.replyTo ? { replyTo: config.replyTo } : {}),
      to: contact.name ? { name: contact.name, address: session.address! } : session.address!,
      subject: /^re:/i.test(subject) ? subject : `Re: ${subject}`, text, messageId: ownId,
      inReplyTo: references[references.length - 1], references: references.join(' '),
      headers: { 'X-Herald-Communication': session.communicationId, ...listUnsubscribeHeaders(this.unsubscribeLink(session.workspaceId, this.channel, session.address!)) },
    });
    await this.inbound.sessions.update(session.sessionId, { thread: { references: [...references, ownId].slice(-20) } });
    return { providerMessageId: ownId };
  }

  async listen(): Promise<void> {
    const options = this.inbound.options;
    if (!options || this.server) return;
    this.server = new SMTPServer({
      authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false, size: 1024 * 1024, banner: 'Herald inbound',
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((mail) => this.accept(mail, session.envelope.mailFrom ? session.envelope.mailFrom.address : ''))
          .then(() => callback(), (error: Error & { responseCode?: number }) => callback(Object.assign(error, { responseCode: error.responseCode ?? 451 })));
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
    });
    this.port = (this.server.server.address() as AddressInfo).port;
    this.logger.log(`inbound SMTP for Email Communication replies on port ${this.port}`);
  }

  /** One inbound email: which conversation it answers, from whom, and what it says. */
  private async accept(mail: Awaited<ReturnType<typeof simpleParser>>, envelopeFrom: string): Promise<void> {
    const refs = [mail.inReplyTo, ...(Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : [])].filter(Boolean) as string[];
    const communicationId = refs.map((r) => OUR_ID.exec(r)?.[1]).find(Boolean);
    if (!communicationId) throw Object.assign(new Error('not a reply to a Herald conversation'), { responseCode: 550 });
    const session = await this.inbound.sessions.byCommunication(communicationId);
    if (!session) throw Object.assign(new Error('unknown conversation'), { responseCode: 550 });
    const from = (mail.from?.value?.[0]?.address ?? envelopeFrom).toLowerCase();
    if (!session.address || from !== session.address.toLowerCase()) throw Object.assign(new Error('the sender is not part of this conversation'), { responseCode: 550 });
    const integration = session.integration ? await this.inbound.integrations.find(session.workspaceId, session.integration) : null;
    if (!integration) throw Object.assign(new Error('the conversation\'s integration is gone'), { responseCode: 550 });
    const providerMessageId = mail.messageId ?? `${communicationId}:${Buffer.from(mail.text ?? '').toString('base64').slice(0, 40)}`;
    await this.inbound.sessions.update(session.sessionId, { thread: { references: [...((session.thread.references as string[]) ?? []), providerMessageId].slice(-20) } });
    await this.inbound.port().receive({ integration, channel: this.channel, address: from, providerMessageId, text: withoutQuote(mail.text ?? ''), sessionId: session.sessionId, at: mail.date?.toISOString() });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The reply without the quoted conversation below it ("On ... wrote:", "> ..." lines, a "-----Original Message-----" block). */
export function withoutQuote(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const cut = lines.findIndex((l) => /^>/.test(l) || /^On .+wrote:\s*$/.test(l) || /^-{2,}\s*Original Message\s*-{2,}/i.test(l));
  return (cut >= 0 ? lines.slice(0, cut) : lines).join('\n').trim();
}
