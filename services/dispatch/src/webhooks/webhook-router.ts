import { Logger } from '@nestjs/common';
import { DomainError, type WebhookReply, type WebhookRequest } from '@herald/contracts';
import type { ChannelAdapter, ConversationPort } from '../adapters/channel-adapter';
import type { Integrations } from '../integrations/integrations';

/**
 * Routes a provider webhook (`/api/webhooks/<workspace>/<integration>`) to
 * the adapter of the integration's type. The adapter checks the signature
 * first: a missing or wrong one answers 403 and changes nothing.
 */
export class WebhookRouter {
  private readonly logger = new Logger('Webhooks');

  constructor(private readonly integrations: Integrations, private readonly adapters: readonly ChannelAdapter[], private readonly port: ConversationPort) {}

  async handle(req: WebhookRequest): Promise<WebhookReply> {
    const headers = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const request = { ...req, headers, query: req.query ?? {}, body: Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body ?? '') };
    const integration = await this.integrations.find(req.workspaceId, req.integration).catch(() => null);
    // Unknown integrations answer like a wrong signature: nothing is revealed about what exists.
    if (!integration) return { status: 403, contentType: 'text/plain', body: 'forbidden: unknown integration' };
    const adapter = this.adapters.find((a) => a.webhook && a.webhookTypes?.includes(integration.type));
    if (!adapter) return { status: 404, contentType: 'text/plain', body: `integrations of type ${integration.type} take no webhooks` };
    try {
      return await adapter.webhook!(request, integration, this.port);
    } catch (error) {
      if (error instanceof DomainError) return { status: 400, contentType: 'text/plain', body: error.message };
      // The provider retries on 5xx; every effect is idempotent, so a retry is safe.
      this.logger.error(`${integration.type} webhook ${req.workspaceId}/${req.integration}: ${(error as Error).stack ?? error}`);
      return { status: 503, contentType: 'text/plain', body: 'temporarily unavailable, retry later' };
    }
  }
}
