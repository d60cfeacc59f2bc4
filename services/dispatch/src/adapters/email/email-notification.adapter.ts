import type { SmtpConfig } from '../../integrations/integrations';
import { ended, notSent, type ChannelAdapter, type DispatchRequest, type StartResult } from '../channel-adapter';
import { renderTemplate } from '../template';
import { listUnsubscribeHeaders, type SmtpTransports } from './smtp-transports';

/** Builds the one-click unsubscribe URL for an address on a channel (null when no signing key is configured). */
export type UnsubscribeLink = (workspaceId: string, channel: string, address: string) => string | null;

/**
 * Email Notification: one message out through the workspace's SMTP
 * integration (nodemailer). The Message-ID derives from the communication
 * id, so a receiver can recognise a copy; RFC 8058 one-click unsubscribe
 * headers point at Herald.
 */
export class EmailNotificationAdapter implements ChannelAdapter {
  readonly channel = 'email_notification';

  constructor(private readonly transports: SmtpTransports, private readonly unsubscribeLink: UnsubscribeLink = () => null) {}

  async start({ workspaceId, communicationId, contact, stage, integration }: DispatchRequest): Promise<StartResult> {
    const settings = stage.settings as { integration?: string; subject?: string; template?: string; inputType?: string };
    if (!contact.email) return notSent('the contact has no email address');
    if (integration?.type !== 'smtp') return notSent(`integration "${settings.integration ?? ''}" is not configured in this workspace`);
    const config = integration.config as unknown as SmtpConfig;
    const html = settings.inputType === 'html';
    const body = renderTemplate(settings.template ?? '', contact, { html });
    const messageId = `<${communicationId}@herald>`;
    const info = await this.transports.get(config).sendMail({
      from: config.from,
      to: contact.name ? { name: contact.name, address: contact.email } : contact.email,
      subject: renderTemplate(settings.subject ?? '', contact),
      ...(html ? { html: body } : { text: body }),
      messageId,
      headers: { 'X-Herald-Communication': communicationId, ...listUnsubscribeHeaders(this.unsubscribeLink(workspaceId, this.channel, contact.email)) },
    });
    const accepted = (info.accepted as unknown[]).length > 0;
    return accepted
      ? ended('COMPLETED', 'DELIVERED', null, { delivered: true, messageId, response: info.response ?? null }, messageId)
      : ended('ERROR', 'REJECTED', `SMTP server refused ${contact.email}: ${info.response ?? ''}`, null, messageId);
  }
}
