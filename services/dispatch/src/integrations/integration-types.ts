import { invalid } from '@herald/contracts';

type Kind = 'string' | 'url' | 'port' | 'boolean' | 'number' | 'address';

interface FieldSpec {
  readonly kind: Kind;
  readonly required?: boolean;
  /** Stored encrypted, never returned by the API. */
  readonly secret?: boolean;
  readonly default?: string | number | boolean;
}

/**
 * Every integration type: its fields, which are secrets, and the channels it
 * serves. Provider URLs default to the public endpoints and can point
 * elsewhere (a regional endpoint, a proxy, a test stand-in).
 */
export const INTEGRATION_TYPES = {
  smtp: {
    channels: ['email_notification', 'email_communication'],
    fields: {
      host: { kind: 'string', required: true }, port: { kind: 'port', default: 587 }, secure: { kind: 'boolean', default: false },
      user: { kind: 'string' }, password: { kind: 'string', secret: true }, from: { kind: 'address', required: true },
      /** Where replies go (Email Communication): an address whose MX is Herald's inbound SMTP server. */
      replyTo: { kind: 'address' },
    },
  },
  whatsapp: {
    channels: ['whatsapp'],
    fields: {
      phoneNumberId: { kind: 'string', required: true }, accessToken: { kind: 'string', required: true, secret: true },
      appSecret: { kind: 'string', required: true, secret: true }, verifyToken: { kind: 'string', required: true, secret: true },
      apiUrl: { kind: 'url', default: 'https://graph.facebook.com' }, apiVersion: { kind: 'string', default: 'v21.0' },
      language: { kind: 'string', default: 'en_US' }, messagesPerSecond: { kind: 'number', default: 80 },
    },
  },
  messagebird: {
    channels: ['messagebird_whatsapp', 'messagebird_webhook'],
    fields: {
      accessKey: { kind: 'string', required: true, secret: true }, signingKey: { kind: 'string', required: true, secret: true },
      channelId: { kind: 'string', required: true },
      /** Bird workspace (channels API, templates by project id and version). */
      birdWorkspaceId: { kind: 'string' },
      conversationsUrl: { kind: 'url', default: 'https://conversations.messagebird.com' },
      apiUrl: { kind: 'url', default: 'https://api.bird.com' }, locale: { kind: 'string', default: 'en' },
    },
  },
  telegram: {
    channels: ['telegram'],
    fields: {
      botToken: { kind: 'string', required: true, secret: true }, webhookSecret: { kind: 'string', required: true, secret: true },
      apiUrl: { kind: 'url', default: 'https://api.telegram.org' },
    },
  },
  infobip: {
    channels: ['infobip'],
    fields: {
      baseUrl: { kind: 'url', required: true }, apiKey: { kind: 'string', required: true, secret: true },
      from: { kind: 'string', required: true }, webhookSecret: { kind: 'string', required: true, secret: true },
    },
  },
  twilio: {
    channels: ['twilio'],
    fields: {
      accountSid: { kind: 'string', required: true }, authToken: { kind: 'string', required: true, secret: true },
      from: { kind: 'string', required: true }, apiUrl: { kind: 'url', default: 'https://api.twilio.com' },
      voice: { kind: 'string', default: 'Polly.Joanna' }, language: { kind: 'string', default: 'en-US' },
      callsPerSecond: { kind: 'number', default: 1 },
    },
  },
  sip: {
    channels: ['sip'],
    fields: {
      host: { kind: 'string', required: true }, port: { kind: 'port', default: 5060 }, from: { kind: 'string', required: true },
      username: { kind: 'string' }, password: { kind: 'string', secret: true },
      ringSeconds: { kind: 'number', default: 30 }, maxCallSeconds: { kind: 'number', default: 600 },
    },
  },
  llm: {
    channels: [],
    fields: {
      baseUrl: { kind: 'url', required: true }, apiKey: { kind: 'string', secret: true }, model: { kind: 'string', required: true },
      temperature: { kind: 'number', default: 0.2 },
    },
  },
} as const satisfies Record<string, { channels: readonly string[]; fields: Record<string, FieldSpec> }>;

export type IntegrationType = keyof typeof INTEGRATION_TYPES;
export const INTEGRATION_TYPE_IDS = Object.keys(INTEGRATION_TYPES) as IntegrationType[];

/** The integration types whose credentials a channel's stages may use. */
export const integrationTypesFor = (channel: string): IntegrationType[] =>
  INTEGRATION_TYPE_IDS.filter((t) => (INTEGRATION_TYPES[t].channels as readonly string[]).includes(channel));

export const secretFieldsOf = (type: string): string[] =>
  type in INTEGRATION_TYPES ? Object.entries(INTEGRATION_TYPES[type as IntegrationType].fields as Record<string, FieldSpec>).filter(([, f]) => f.secret).map(([k]) => k) : [];

/**
 * Checks an integration's settings by type, field by field (the message
 * names the field); returns the public part and the secrets apart. A secret
 * left out on an update keeps its stored value (`previous`).
 */
export function validateIntegrationConfig(type: string, config: Record<string, unknown>, previousSecrets: Record<string, unknown> = {}): { config: Record<string, unknown>; secrets: Record<string, string> } {
  if (!(type in INTEGRATION_TYPES)) throw invalid('type', `unknown integration type "${type}" (supported: ${INTEGRATION_TYPE_IDS.join(', ')})`);
  const fields = INTEGRATION_TYPES[type as IntegrationType].fields as Record<string, FieldSpec>;
  const c = config && typeof config === 'object' && !Array.isArray(config) ? config : {};
  for (const key of Object.keys(c)) if (!(key in fields)) throw invalid(`config.${key}`, `unknown field for a ${type} integration (fields: ${Object.keys(fields).join(', ')})`);
  const out: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [name, spec] of Object.entries(fields)) {
    const field = `config.${name}`;
    let value = c[name];
    if ((value === undefined || value === null || value === '') && spec.secret && typeof previousSecrets[name] === 'string') value = previousSecrets[name];
    if (value === undefined || value === null || value === '') {
      if (spec.required) throw invalid(field, 'is required');
      if (spec.default !== undefined) out[name] = spec.default;
      continue;
    }
    const checked = checkValue(field, spec.kind, value);
    if (spec.secret) secrets[name] = String(checked);
    else out[name] = checked;
  }
  return { config: out, secrets };
}

function checkValue(field: string, kind: Kind, value: unknown): string | number | boolean {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string' && typeof value !== 'number') throw invalid(field, 'must be a string');
      return String(value);
    case 'url': {
      if (typeof value !== 'string' || !/^https?:\/\/[^\s/]+/.test(value)) throw invalid(field, 'must be an http(s) URL');
      return value.replace(/\/+$/, '');
    }
    case 'port': {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(field, 'must be a port number (1-65535)');
      return port;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(field, 'must be true or false');
      return value;
    case 'number': {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw invalid(field, 'must be a number above 0');
      return n;
    }
    case 'address':
      if (typeof value !== 'string' || !/^[^\s@<>]+@[^\s@<>]+$|<[^\s@<>]+@[^\s@<>]+>$/.test(value.trim())) throw invalid(field, 'must be an email address ("Name <a@b.c>" or "a@b.c")');
      return value.trim();
  }
}
