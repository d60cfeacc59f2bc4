import type { Pool } from 'pg';
import type { IntegrationInput, IntegrationView } from '@herald/contracts';
import { invalid, notFound } from '@herald/contracts';
import type { SecretBox } from '../secrets/secret-box';
import { secretFieldsOf, validateIntegrationConfig, type IntegrationType } from './integration-types';
import { tenantQuery } from '@herald/service-defaults';

export const INTEGRATIONS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dispatch_integrations (
    workspace_id text NOT NULL,
    name         text NOT NULL,
    type         text NOT NULL,
    config       jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, name)
  );
  ALTER TABLE dispatch_integrations ADD COLUMN IF NOT EXISTS secrets text`;

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  replyTo?: string;
}

/** An integration with its secrets decrypted: for adapters only, never for views. */
export interface IntegrationRecord<C = Record<string, unknown>> {
  readonly workspaceId: string;
  readonly name: string;
  readonly type: IntegrationType;
  readonly config: C;
}

/**
 * A workspace's channel integrations (SMTP servers, provider accounts, LLM
 * endpoints). Secrets are sealed with the SecretBox in their own column and
 * never leave through views; the rest is plain JSON.
 */
export class Integrations {
  private readonly cache = new Map<string, { at: number; record: IntegrationRecord | null }>();

  constructor(private readonly pool: Pool, private readonly box: SecretBox) {}

  async configure(workspaceId: string, input: IntegrationInput): Promise<IntegrationView> {
    if (typeof input.name !== 'string' || !/^[\w.-]{1,64}$/.test(input.name)) throw invalid('name', 'letters, digits, "_", "-" and "." (at most 64)');
    const previous = await this.get(workspaceId, input.name).catch(() => null);
    const { config, secrets } = validateIntegrationConfig(input.type, input.config ?? {}, previous?.type === input.type ? previous.config : {});
    const sealed = Object.keys(secrets).length ? this.box.encrypt(secrets) : null;
    await this.pool.query(
      `INSERT INTO dispatch_integrations (workspace_id, name, type, config, secrets) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (workspace_id, name) DO UPDATE SET type = EXCLUDED.type, config = EXCLUDED.config, secrets = EXCLUDED.secrets, updated_at = now()`,
      [workspaceId, input.name, input.type, config, sealed],
    );
    this.cache.delete(`${workspaceId}/${input.name}`);
    return view(input.name, input.type, config, Object.keys(secrets));
  }

  async list(workspaceId: string): Promise<IntegrationView[]> {
    const { rows } = await tenantQuery<{ name: string; type: string; config: Record<string, unknown>; secrets: string | null }>(this.pool, workspaceId,
      `SELECT name, type, config, secrets FROM dispatch_integrations WHERE workspace_id = $1 ORDER BY name`,
      [workspaceId],
    );
    return rows.map((r) => {
      const { config, secrets } = this.split(r.type, r.config, r.secrets);
      return view(r.name, r.type, config, Object.keys(secrets));
    });
  }

  /** The integration with its secrets, or null; cached for a second (webhooks arrive in bursts). */
  async find(workspaceId: string, name: string): Promise<IntegrationRecord | null> {
    const key = `${workspaceId}/${name}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < 1000) return hit.record;
    const { rows } = await this.pool.query<{ type: IntegrationType; config: Record<string, unknown>; secrets: string | null }>(
      `SELECT type, config, secrets FROM dispatch_integrations WHERE workspace_id = $1 AND name = $2`,
      [workspaceId, name],
    );
    const record = rows[0] ? (() => {
      const { config, secrets } = this.split(rows[0].type, rows[0].config, rows[0].secrets);
      return { workspaceId, name, type: rows[0].type, config: { ...config, ...secrets } };
    })() : null;
    this.cache.set(key, { at: Date.now(), record });
    return record;
  }

  async get(workspaceId: string, name: string): Promise<IntegrationRecord> {
    const record = await this.find(workspaceId, name);
    if (!record) throw notFound(`integration "${name}"`);
    return record;
  }

  /** The named integration when it has one of the given types, else null. */
  async ofType<C>(workspaceId: string, name: string | undefined, types: readonly string[]): Promise<IntegrationRecord<C> | null> {
    if (!name) return null;
    const record = await this.find(workspaceId, name);
    return record && types.includes(record.type) ? (record as IntegrationRecord<C>) : null;
  }

  async smtp(workspaceId: string, name: string): Promise<SmtpConfig | null> {
    return (await this.ofType<SmtpConfig>(workspaceId, name, ['smtp']))?.config ?? null;
  }

  /** Rows written before secrets were sealed kept them in config: they are treated (and shown) as secrets. */
  private split(type: string, stored: Record<string, unknown>, sealed: string | null): { config: Record<string, unknown>; secrets: Record<string, unknown> } {
    const names = secretFieldsOf(type);
    const config = Object.fromEntries(Object.entries(stored).filter(([k]) => !names.includes(k)));
    const legacy = Object.fromEntries(Object.entries(stored).filter(([k]) => names.includes(k)));
    return { config, secrets: { ...legacy, ...(sealed ? this.box.decrypt<Record<string, unknown>>(sealed) : {}) } };
  }
}

function view(name: string, type: string, config: Record<string, unknown>, secretNames: string[]): IntegrationView {
  return { name, type, config, hasPassword: secretNames.includes('password'), secrets: secretNames.sort() };
}
