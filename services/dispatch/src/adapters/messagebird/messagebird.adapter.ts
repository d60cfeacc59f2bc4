import { createHash, createHmac } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { WebhookReply, WebhookRequest } from '@herald/contracts';
import type { IntegrationRecord } from '../../integrations/integrations';
import type { SessionRecord } from '../../sessions/session-store';
import { jsonBody, safeEqual } from '../../webhooks/signatures';
import { forbidden, notSent, ok, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { providerFetch, type ProviderResponse } from '../provider-http';
import { renderTemplate } from '../template';

export interface MessageBirdConfig {
  accessKey: string; signingKey: string; channelId: string; birdWorkspaceId?: string;
  conversationsUrl: string; apiUrl: string; locale: string;
}

const CHANNELS = ['messagebird_whatsapp', 'messagebird_webhook'] as const;

/**
 * MessageBird, two channels on one integration:
 * - MessageBird (Whatsapp): Bird's channels API
 *   (`POST /workspaces/{workspace}/channels/{channel}/messages`), the first
 *   message an approved template by Project ID and Version, answers as text.
 * - MessageBird Webhook (Whatsapp): the Conversations API (`POST /v1/send`),
 *   the start phrase as text.
 * Both authenticate with `Authorization: AccessKey <key>`. Inbound messages
 * arrive by webhook, signed either way MessageBird signs: the Conversations
 * API's `MessageBird-Signature-JWT` (HS256 with the signing key; claims
 * url_hash and payload_hash, SHA-256 of the URL and the body) or Bird's
 * `messagebird-signature` (base64 HMAC-SHA256 of timestamp, URL and the
 * body's SHA-256, with `messagebird-request-timestamp`).
 */
export class MessageBirdAdapter implements ChannelAdapter {
  readonly webhookTypes = ['messagebird'];

  constructor(readonly channel: (typeof CHANNELS)[number]) {}

  async start({ contact, stage, integration, opening }: DispatchRequest): Promise<StartResult> {
    if (integration?.type !== 'messagebird') return notSent('no MessageBird integration for this stage');
    if (!contact.phone) return notSent('the contact has no phone number');
    const c = integration.config as unknown as MessageBirdConfig;
    const to = `+${contact.phone.replace(/\D/g, '')}`;
    if (this.channel === 'messagebird_whatsapp') {
      const s = stage.settings as { projectId?: string; version?: string; locale?: string; templateParameters?: Record<string, unknown> };
      if (!c.birdWorkspaceId) return notSent('config.birdWorkspaceId: the Bird workspace is required for template messages');
      const parameters = Object.entries(s.templateParameters ?? {}).map(([key, value]) => ({ type: 'string', key, value: renderTemplate(String(value), contact) }));
      const r = await this.post(c, `${c.apiUrl}/workspaces/${c.birdWorkspaceId}/channels/${c.channelId}/messages`, {
        receiver: { contacts: [{ identifierKey: 'phonenumber', identifierValue: to }] },
        template: { projectId: s.projectId, version: s.version, locale: s.locale ?? c.locale, parameters },
      });
      const sent = opening ?? `[template ${s.projectId}@${s.version}${parameters.length ? `: ${parameters.map((p) => p.value).join(' | ')}` : ''}]`;
      return { kind: 'open', address: to, providerMessageId: (r.json as { id?: string } | null)?.id ?? null, sent };
    }
    if (!opening) return notSent('settings.startPhrase: the first message is required (or an agent that opens)');
    const r = await this.post(c, `${c.conversationsUrl}/v1/send`, { to, from: c.channelId, type: 'text', content: { text: opening } });
    return { kind: 'open', address: to, providerMessageId: (r.json as { id?: string } | null)?.id ?? null, sent: opening };
  }

  async reply(session: SessionRecord, text: string, { integration }: { integration: IntegrationRecord | null }) {
    if (integration?.type !== 'messagebird') throw new Error(`integration "${session.integration}" is gone`);
    const c = integration.config as unknown as MessageBirdConfig;
    const to = `+${session.address}`;
    const r = this.channel === 'messagebird_whatsapp'
      ? await this.post(c, `${c.apiUrl}/workspaces/${c.birdWorkspaceId}/channels/${c.channelId}/messages`, {
          receiver: { contacts: [{ identifierKey: 'phonenumber', identifierValue: to }] }, body: { type: 'text', text: { text } } })
      : await this.post(c, `${c.conversationsUrl}/v1/send`, { to, from: c.channelId, type: 'text', content: { text } });
    return { providerMessageId: (r.json as { id?: string } | null)?.id ?? null };
  }

  async webhook(req: WebhookRequest, integration: IntegrationRecord, port: ConversationPort): Promise<WebhookReply> {
    const c = integration.config as unknown as MessageBirdConfig;
    if (!(await verified(req, c.signingKey))) return forbidden('MessageBird-Signature-JWT or messagebird-signature is missing or wrong');
    const body = jsonBody(req.body) as Record<string, any> | null;
    if (!body) return ok();
    // Conversations API: {type: "message.created", message: {id, direction, from, content: {text}}}
    const m = body.message;
    if (m && m.direction === 'received' && typeof m.id === 'string') {
      await port.receive({ integration, channel: CHANNELS, address: String(m.from ?? body.contact?.msisdn ?? ''), providerMessageId: m.id, text: String(m.content?.text ?? `[${m.type ?? 'message'}]`) });
    }
    if (m && m.direction === 'sent' && typeof m.id === 'string' && typeof m.status === 'string') {
      await port.deliveryStatus({ integration, providerMessageId: m.id, status: m.status });
    }
    // Bird channels: {service: "channels", event: "whatsapp.inbound", payload: {id, sender: {contact: {identifierValue}}, body: {text: {text}}}}
    const p = body.payload;
    if (typeof body.event === 'string' && body.event.endsWith('.inbound') && p && typeof p.id === 'string') {
      await port.receive({ integration, channel: CHANNELS, address: String(p.sender?.contact?.identifierValue ?? ''), providerMessageId: p.id, text: String(p.body?.text?.text ?? '[message]') });
    }
    return ok();
  }

  private async post(c: MessageBirdConfig, url: string, payload: object): Promise<ProviderResponse> {
    const r = await providerFetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `AccessKey ${c.accessKey}` }, body: JSON.stringify(payload),
    }, { what: 'MessageBird', limits: [{ key: `messagebird:${c.channelId}`, perSecond: 80 }] });
    if (!r.ok) {
      const e = r.json as { errors?: { description?: string }[]; message?: string } | null;
      throw new Error(`MessageBird answered ${r.status}: ${e?.errors?.[0]?.description ?? e?.message ?? r.text.slice(0, 200)}`);
    }
    return r;
  }
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

async function verified(req: WebhookRequest, signingKey: string): Promise<boolean> {
  const jwt = req.headers['messagebird-signature-jwt'];
  if (jwt) {
    try {
      const { payload } = await jwtVerify(jwt, new TextEncoder().encode(signingKey), { issuer: 'MessageBird', algorithms: ['HS256'], clockTolerance: 60 });
      if (payload.url_hash !== sha256Hex(req.url)) return false;
      return req.body.length ? payload.payload_hash === sha256Hex(req.body) : payload.payload_hash === undefined;
    } catch {
      return false;
    }
  }
  const signature = req.headers['messagebird-signature'];
  const timestamp = req.headers['messagebird-request-timestamp'];
  if (!signature || !timestamp) return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false; // replays of old deliveries
  const expected = createHmac('sha256', signingKey)
    .update(Buffer.concat([Buffer.from(`${timestamp}\n${req.url}\n`), createHash('sha256').update(req.body).digest()]))
    .digest('base64');
  return safeEqual(signature, expected);
}
