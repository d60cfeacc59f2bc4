import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpConfig } from '../../integrations/integrations';

/** One pooled nodemailer transport per SMTP configuration, shared by the email adapters. */
export class SmtpTransports {
  private readonly transports = new Map<string, Transporter>();

  constructor(private readonly maxConnections = 4) {}

  get(config: SmtpConfig): Transporter {
    const key = createHash('sha256').update(JSON.stringify(config)).digest('hex');
    let transport = this.transports.get(key);
    if (!transport) {
      transport = nodemailer.createTransport({
        host: config.host, port: config.port, secure: config.secure,
        ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
        pool: true, maxConnections: this.maxConnections, maxMessages: Infinity,
        tls: { rejectUnauthorized: process.env.HERALD_SMTP_INSECURE_TLS !== 'true' },
      });
      this.transports.set(key, transport);
    }
    return transport;
  }

  close(): void {
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
  }
}

/** RFC 8058 one-click unsubscribe headers for a link that opts the address out of the channel. */
export function listUnsubscribeHeaders(url: string | null): Record<string, string> {
  return url ? { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {};
}
