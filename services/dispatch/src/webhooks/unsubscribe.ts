import type { WebhookReply } from '@herald/contracts';
import type { TokenSigner } from '../secrets/secret-box';
import type { OptOuts } from '../sessions/opt-outs';

interface UnsubscribeToken { w: string; c: string; a: string }

/**
 * RFC 8058 one-click unsubscribe. Emails carry
 * `List-Unsubscribe: <{public url}/api/unsubscribe/{token}>` and
 * `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; the mail client's
 * POST opts the address out of that channel for the workspace. A GET (a
 * person clicking, or a link scanner prefetching) only shows a page with a
 * button, so scanners never unsubscribe anyone. The token is signed: it
 * cannot be forged for another address.
 */
export class Unsubscribe {
  constructor(private readonly signer: TokenSigner | null, private readonly optOuts: OptOuts, private readonly publicUrl: string) {}

  link(workspaceId: string, channel: string, address: string): string | null {
    return this.signer ? `${this.publicUrl}/api/unsubscribe/${this.signer.sign({ w: workspaceId, c: channel, a: address.toLowerCase() })}` : null;
  }

  async handle(token: string, oneClick: boolean): Promise<WebhookReply> {
    const t = this.signer?.verify<UnsubscribeToken>(token);
    if (!t || typeof t.w !== 'string' || typeof t.c !== 'string' || typeof t.a !== 'string') {
      return { status: 403, contentType: 'text/html; charset=utf-8', body: page('This unsubscribe link is not valid.') };
    }
    if (!oneClick) {
      return { status: 200, contentType: 'text/html; charset=utf-8', body: page(`Stop receiving these emails at ${escape(t.a)}?`, `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`) };
    }
    await this.optOuts.record(t.w, t.c, t.a, 'LIST-UNSUBSCRIBE');
    // Replies to an Email Communication come from the same address: one opt-out covers both email channels.
    if (t.c.startsWith('email_')) for (const c of ['email_notification', 'email_communication']) await this.optOuts.record(t.w, c, t.a, 'LIST-UNSUBSCRIBE');
    return { status: 200, contentType: 'text/html; charset=utf-8', body: page(`${escape(t.a)} is unsubscribed.`) };
  }
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const page = (message: string, extra = '') => `<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body><p>${message}</p>${extra}</body></html>`;
