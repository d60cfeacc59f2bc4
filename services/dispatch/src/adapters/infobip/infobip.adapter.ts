import type { WebhookReply, WebhookRequest } from '@herald/contracts';
import type { IntegrationRecord } from '../../integrations/integrations';
import type { SessionRecord } from '../../sessions/session-store';
import { jsonBody, safeEqual } from '../../webhooks/signatures';
import { badRequest, forbidden, notSent, ok, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { providerFetch } from '../provider-http';

export interface InfobipConfig { baseUrl: string; apiKey: string; from: string; webhookSecret: string }

interface InfobipResult {
  messageId?: string; from?: string; to?: string; text?: string; cleanText?: string; receivedAt?: string; callbackData?: string;
  status?: { groupName?: string; name?: string; description?: string };
  error?: { groupName?: string; name?: string; description?: string };
}

/**
 * Infobip messaging (SMS API v2, `POST /sms/2/text/advanced`, `Authorization:
 * App <key>`): the start phrase out, the contact's answers in (MO
 * messages forwarded to the webhook), delivery reports to the same URL.
 * Infobip signs nothing by default: its subscription is set up with HTTP
 * Basic authentication whose password is the integration's webhookSecret,
 * and a request without it is refused (403).
 */
export class InfobipAdapter implements ChannelAdapter {
  readonly channel = 'infobip';
  readonly webhookTypes = ['infobip'];

  async start({ workspaceId, communicationId, sessionId, contact, integration, opening, publicUrl }: DispatchRequest): Promise<StartResult> {
    if (integration?.type !== 'infobip') return notSent('no Infobip integration for this stage');
    if (!contact.phone) return notSent('the contact has no phone number');
    if (!opening) return notSent('settings.startPhrase: the first message is required (or an agent that opens)');
    const notifyUrl = `${publicUrl}/api/webhooks/${encodeURIComponent(workspaceId)}/${encodeURIComponent(integration.name)}`;
    const id = await this.send(integration.config as unknown as InfobipConfig, digits(contact.phone), opening, communicationId, sessionId, notifyUrl);
    return { kind: 'open', address: digits(contact.phone), providerMessageId: id, sent: opening, thread: { notifyUrl } };
  }

  async reply(session: SessionRecord, text: string, { messageId, integration }: { messageId: string; integration: IntegrationRecord | null }) {
    if (integration?.type !== 'infobip') throw new Error(`integration "${session.integration}" is gone`);
    const id = await this.send(integration.config as unknown as InfobipConfig, session.address!, text, messageId, session.sessionId, String(session.thread.notifyUrl ?? ''));
    return { providerMessageId: id };
  }

  async webhook(req: WebhookRequest, integration: IntegrationRecord, port: ConversationPort): Promise<WebhookReply> {
    const c = integration.config as unknown as InfobipConfig;
    const auth = req.headers.authorization ?? '';
    const password = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
    if (!safeEqual(password, c.webhookSecret)) return forbidden('HTTP Basic authentication with the webhook secret is required');
    const body = jsonBody(req.body) as { results?: InfobipResult[] } | null;
    if (!body || !Array.isArray(body.results)) return badRequest('not an Infobip notification ({"results": [...]})');
    for (const r of body.results) {
      if (!r?.messageId) continue;
      if (r.status) {
        await port.deliveryStatus({ integration, providerMessageId: r.messageId, status: r.status.groupName ?? r.status.name ?? 'UNKNOWN', error: r.error && r.error.groupName !== 'OK' ? r.error.description ?? null : null });
      } else if (r.from) {
        await port.receive({ integration, channel: this.channel, address: r.from, providerMessageId: r.messageId, text: r.cleanText || r.text || '', at: r.receivedAt ? new Date(r.receivedAt).toISOString() : undefined });
      }
    }
    return ok();
  }

  private async send(c: InfobipConfig, to: string, text: string, messageId: string, sessionId: string, notifyUrl: string): Promise<string> {
    const r = await providerFetch(`${c.baseUrl}/sms/2/text/advanced`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `App ${c.apiKey}` },
      body: JSON.stringify({ messages: [{ destinations: [{ to, messageId }], from: c.from, text, notifyUrl, notifyContentType: 'application/json', callbackData: sessionId }] }),
    }, { what: 'Infobip' });
    const body = r.json as { messages?: { messageId?: string; status?: { groupName?: string; description?: string } }[]; requestError?: { serviceException?: { messageId?: string; text?: string } } } | null;
    if (!r.ok) throw new Error(`Infobip answered ${r.status}: ${body?.requestError?.serviceException?.text ?? r.text.slice(0, 200)}`);
    const m = body?.messages?.[0];
    if (m?.status?.groupName === 'REJECTED') throw new Error(`Infobip rejected the message: ${m.status.description ?? ''}`);
    return m?.messageId ?? messageId;
  }
}

const digits = (phone: string) => phone.replace(/\D/g, '');
