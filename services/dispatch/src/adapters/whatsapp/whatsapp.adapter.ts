import type { WebhookReply, WebhookRequest } from '@herald/contracts';
import type { IntegrationRecord } from '../../integrations/integrations';
import type { SessionRecord } from '../../sessions/session-store';
import { hmacHex, jsonBody, safeEqual } from '../../webhooks/signatures';
import { badRequest, forbidden, notSent, ok, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { providerFetch, retryAfterHeader, type ProviderResponse } from '../provider-http';
import { renderTemplate } from '../template';

export interface WhatsAppConfig {
  phoneNumberId: string; accessToken: string; appSecret: string; verifyToken: string;
  apiUrl: string; apiVersion: string; language: string; messagesPerSecond: number;
}

/** Graph API error codes that mean "too many messages, try later" (throughput, spam rate, pair rate limits). */
const RATE_CODES = new Set([4, 80007, 130429, 131048, 131056]);

/**
 * WhatsApp through Meta's Cloud API: the first message is an approved
 * template (the stage's Template Name, parameters rendered from the
 * contact), the agent's answers are text messages inside the 24-hour
 * window the contact's reply opens. Webhooks: the GET verification
 * challenge (hub.verify_token) and POSTs signed with X-Hub-Signature-256
 * (HMAC-SHA256 of the raw body with the app secret).
 */
export class WhatsAppAdapter implements ChannelAdapter {
  readonly channel = 'whatsapp';
  readonly webhookTypes = ['whatsapp'];

  async start({ contact, stage, integration, opening }: DispatchRequest): Promise<StartResult> {
    if (integration?.type !== 'whatsapp') return notSent('no WhatsApp integration for this stage (settings.integration or the agent\'s integrations)');
    if (!contact.phone) return notSent('the contact has no phone number');
    const c = integration.config as unknown as WhatsAppConfig;
    const s = stage.settings as { templateName?: string; language?: string; templateParameters?: unknown };
    if (!s.templateName) return notSent('settings.templateName: the approved template is required');
    const parameters = Array.isArray(s.templateParameters) ? s.templateParameters.map((p) => renderTemplate(String(p), contact)) : [];
    const to = digits(contact.phone);
    const answer = await this.post(c, {
      messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'template',
      template: {
        name: s.templateName, language: { code: s.language ?? c.language },
        ...(parameters.length ? { components: [{ type: 'body', parameters: parameters.map((text) => ({ type: 'text', text })) }] } : {}),
      },
    });
    const body = answer.json as { messages?: { id: string }[]; contacts?: { wa_id?: string }[] } | null;
    const id = body?.messages?.[0]?.id ?? null;
    const sent = opening ?? `[template ${s.templateName}${parameters.length ? `: ${parameters.join(' | ')}` : ''}]`;
    return { kind: 'open', address: body?.contacts?.[0]?.wa_id ?? to, providerMessageId: id, sent, thread: { to } };
  }

  async reply(session: SessionRecord, text: string, { integration }: { integration: IntegrationRecord | null }): Promise<{ providerMessageId: string | null }> {
    if (integration?.type !== 'whatsapp') throw new Error(`integration "${session.integration}" is gone`);
    const c = integration.config as unknown as WhatsAppConfig;
    const to = String(session.thread.to ?? session.address);
    const answer = await this.post(c, { messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { preview_url: false, body: text } });
    return { providerMessageId: (answer.json as { messages?: { id: string }[] } | null)?.messages?.[0]?.id ?? null };
  }

  async webhook(req: WebhookRequest, integration: IntegrationRecord, port: ConversationPort): Promise<WebhookReply> {
    const c = integration.config as unknown as WhatsAppConfig;
    if (req.method === 'GET') {
      if (req.query['hub.mode'] !== 'subscribe' || !safeEqual(req.query['hub.verify_token'], c.verifyToken)) return forbidden('verify token does not match');
      return ok(String(req.query['hub.challenge'] ?? ''));
    }
    const signature = req.headers['x-hub-signature-256'];
    if (!safeEqual(signature, `sha256=${hmacHex('sha256', c.appSecret, req.body)}`)) return forbidden('X-Hub-Signature-256 is missing or wrong');
    const payload = jsonBody(req.body) as WhatsAppWebhook | null;
    if (!payload || payload.object !== 'whatsapp_business_account' || !Array.isArray(payload.entry)) return badRequest('not a WhatsApp Business Account webhook');
    for (const entry of payload.entry) {
      for (const change of entry?.changes ?? []) {
        const value = change?.value;
        if (change?.field !== 'messages' || !value || value.metadata?.phone_number_id !== c.phoneNumberId) continue;
        for (const m of value.messages ?? []) {
          const text = m.text?.body ?? m.button?.text ?? m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title ?? (m.type ? `[${m.type}]` : '');
          if (!m.id || !m.from) continue;
          await port.receive({ integration, channel: this.channel, address: m.from, providerMessageId: m.id, text, at: m.timestamp ? new Date(Number(m.timestamp) * 1000).toISOString() : undefined });
        }
        for (const s of value.statuses ?? []) {
          if (s.id && s.status) await port.deliveryStatus({ integration, providerMessageId: s.id, status: s.status, error: s.errors?.[0]?.title ?? null });
        }
      }
    }
    return ok();
  }

  private async post(c: WhatsAppConfig, payload: object): Promise<ProviderResponse> {
    const response = await providerFetch(`${c.apiUrl}/${c.apiVersion}/${encodeURIComponent(c.phoneNumberId)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${c.accessToken}` },
      body: JSON.stringify(payload),
    }, {
      what: 'WhatsApp',
      limits: [{ key: `whatsapp:${c.phoneNumberId}`, perSecond: c.messagesPerSecond || 80 }],
      retryAfter: (r) => {
        const code = (r.json as { error?: { code?: number } } | null)?.error?.code;
        return r.status === 429 || (code !== undefined && RATE_CODES.has(code)) ? retryAfterHeader(r.headers) ?? 1000 : null;
      },
    });
    if (!response.ok) {
      const e = (response.json as { error?: { message?: string; code?: number } } | null)?.error;
      throw new Error(`Graph API answered ${response.status}${e?.code ? ` (code ${e.code})` : ''}: ${e?.message ?? response.text.slice(0, 200)}`);
    }
    return response;
  }
}

const digits = (phone: string) => phone.replace(/\D/g, '');

interface WhatsAppWebhook {
  object?: string;
  entry?: {
    changes?: {
      field?: string;
      value?: {
        metadata?: { phone_number_id?: string };
        messages?: { from?: string; id?: string; timestamp?: string; type?: string; text?: { body?: string }; button?: { text?: string };
          interactive?: { button_reply?: { title?: string }; list_reply?: { title?: string } } }[];
        statuses?: { id?: string; status?: string; errors?: { title?: string }[] }[];
      };
    }[];
  }[];
}
