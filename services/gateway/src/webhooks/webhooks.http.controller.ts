import { All, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DISPATCH_API, type DispatchApi, type WebhookReply } from '@herald/contracts';
import { Public } from '../auth/roles';

/** The bytes the provider sent: signatures (X-Hub-Signature-256, MessageBird's JWT) cover them exactly. */
async function rawBody(req: Request): Promise<Buffer> {
  const kept = (req as Request & { rawBody?: Buffer }).rawBody;
  if (kept) return kept;
  if (!req.readable) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) break; // webhooks are small; a larger body fails its signature check
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

function send(res: Response, reply: WebhookReply): void {
  res.status(reply.status).type(reply.contentType).send(reply.body);
}

/**
 * Provider webhooks and the one-click unsubscribe link. Thin: the request
 * goes to dispatch as received (method, public URL, headers, raw body); the
 * adapter verifies the signature (403 when missing or wrong) and answers.
 */
@ApiTags('webhooks')
@Public()
@Controller('api')
export class WebhooksHttpController {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  /** `https://<public host>/api/webhooks/<workspace>/<integration>`: the URL to give each provider (docs/channels.md). */
  @All('webhooks/:workspaceId/:integration')
  async webhook(@Param('workspaceId') workspaceId: string, @Param('integration') integration: string, @Req() req: Request, @Res() res: Response) {
    const publicUrl = process.env.HERALD_PUBLIC_URL?.replace(/\/+$/, '');
    const url = `${publicUrl ?? `${req.protocol}://${req.get('host')}`}${req.originalUrl}`;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
    const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, Array.isArray(v) ? String(v[0]) : String(v ?? '')]));
    send(res, await this.dispatch.handleWebhook({ workspaceId, integration, method: req.method, url, headers, query, body: await rawBody(req) }));
  }

  /** A person opening the link sees a confirmation button; nothing changes on GET (link scanners). */
  @Get('unsubscribe/:token')
  @ApiExcludeEndpoint()
  async unsubscribePage(@Param('token') token: string, @Res() res: Response) {
    send(res, await this.dispatch.unsubscribe(token, false));
  }

  /** RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click`. */
  @Post('unsubscribe/:token')
  @ApiExcludeEndpoint()
  async unsubscribe(@Param('token') token: string, @Req() req: Request, @Res() res: Response) {
    const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
    const text = Object.keys(body).length ? new URLSearchParams(body as Record<string, string>).toString() : (await rawBody(req)).toString('utf8');
    if (!/List-Unsubscribe=One-Click/i.test(text)) return send(res, { status: 400, contentType: 'text/plain', body: 'List-Unsubscribe=One-Click is required (RFC 8058)' });
    send(res, await this.dispatch.unsubscribe(token, true));
  }
}
