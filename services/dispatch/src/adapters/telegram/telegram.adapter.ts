import type { WebhookReply, WebhookRequest } from '@herald/contracts';
import type { IntegrationRecord } from '../../integrations/integrations';
import type { SessionRecord } from '../../sessions/session-store';
import { jsonBody, safeEqual } from '../../webhooks/signatures';
import { badRequest, forbidden, notSent, ok, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { addressFor } from '../../dispatch-handler';
import { providerFetch } from '../provider-http';

export interface TelegramConfig { botToken: string; webhookSecret: string; apiUrl: string }

/**
 * Telegram through the Bot API: sendMessage to the contact's chat (the
 * `telegram_chat_id` parameter, or the one `settings.chatIdParameter`
 * names), updates by webhook checked with X-Telegram-Bot-Api-Secret-Token
 * (the secret_token given to setWebhook). Limits: 1 message/s per chat and
 * 30/s per bot; a 429 answer's parameters.retry_after is waited out.
 */
export class TelegramAdapter implements ChannelAdapter {
  readonly channel = 'telegram';
  readonly webhookTypes = ['telegram'];

  async start({ contact, stage, integration, opening }: DispatchRequest): Promise<StartResult> {
    if (integration?.type !== 'telegram') return notSent('no Telegram integration for this stage');
    const chatId = addressFor('telegram', contact, stage.settings);
    if (!chatId) return notSent('the contact has no Telegram chat id (parameter telegram_chat_id)');
    if (!opening) return notSent('settings.startPhrase: the first message is required (or an agent that opens)');
    const id = await this.send(integration.config as unknown as TelegramConfig, chatId, opening);
    return { kind: 'open', address: chatId, providerMessageId: id, sent: opening };
  }

  async reply(session: SessionRecord, text: string, { integration }: { integration: IntegrationRecord | null }) {
    if (integration?.type !== 'telegram') throw new Error(`integration "${session.integration}" is gone`);
    return { providerMessageId: await this.send(integration.config as unknown as TelegramConfig, session.address!, text) };
  }

  async webhook(req: WebhookRequest, integration: IntegrationRecord, port: ConversationPort): Promise<WebhookReply> {
    const c = integration.config as unknown as TelegramConfig;
    if (!safeEqual(req.headers['x-telegram-bot-api-secret-token'], c.webhookSecret)) return forbidden('X-Telegram-Bot-Api-Secret-Token is missing or wrong');
    const update = jsonBody(req.body) as { update_id?: number; message?: { message_id?: number; chat?: { id?: number | string }; date?: number; text?: string; caption?: string } } | null;
    if (!update || typeof update.update_id !== 'number') return badRequest('not a Telegram Update');
    const m = update.message;
    if (m?.chat?.id !== undefined && m.message_id !== undefined) {
      await port.receive({
        integration, channel: this.channel, address: String(m.chat.id), providerMessageId: `${m.chat.id}:${m.message_id}`,
        text: m.text ?? m.caption ?? '[non-text message]', at: m.date ? new Date(m.date * 1000).toISOString() : undefined,
      });
    }
    return ok();
  }

  private async send(c: TelegramConfig, chatId: string, text: string): Promise<string | null> {
    const bot = c.botToken.split(':')[0];
    const r = await providerFetch(`${c.apiUrl}/bot${c.botToken}/sendMessage`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: chatId, text }),
    }, {
      what: 'Telegram',
      limits: [{ key: `telegram:${bot}:chat:${chatId}`, perSecond: 1, burst: 1 }, { key: `telegram:${bot}`, perSecond: 30 }],
      retryAfter: (res) => {
        if (res.status !== 429) return null;
        const after = (res.json as { parameters?: { retry_after?: number } } | null)?.parameters?.retry_after;
        return typeof after === 'number' ? after * 1000 : 1000;
      },
    });
    const body = r.json as { ok?: boolean; description?: string; result?: { message_id?: number } } | null;
    if (!r.ok || !body?.ok) throw new Error(`Bot API answered ${r.status}: ${body?.description ?? r.text.slice(0, 200)}`);
    return body.result?.message_id !== undefined ? `${chatId}:${body.result.message_id}` : null;
  }
}
