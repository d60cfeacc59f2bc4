import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
import { DomainError } from '@herald/contracts';
import { secureTenantTables } from '@herald/service-defaults';
import type { Role } from './roles';

const SCHEMA = `
  create table if not exists herald_workspaces (
    id          text primary key,
    workspace_id text generated always as (id) stored,
    name        text not null,
    created_at  timestamptz not null default now(),
    created_by  text
  );
  create table if not exists herald_members (
    id           uuid primary key,
    workspace_id text not null references herald_workspaces (id),
    issuer       text,
    subject      text,
    email        text,
    role         text not null,
    created_at   timestamptz not null default now(),
    created_by   text,
    unique (workspace_id, issuer, subject),
    unique (workspace_id, email)
  );
  create index if not exists herald_members_subject on herald_members (issuer, subject);
  create index if not exists herald_members_email on herald_members (lower(email));
  create table if not exists herald_api_keys (
    id           text primary key,
    workspace_id text not null references herald_workspaces (id),
    name         text not null,
    role         text not null,
    secret_hash  bytea not null,
    created_at   timestamptz not null default now(),
    created_by   text,
    last_used_at timestamptz,
    revoked_at   timestamptz
  );
  create table if not exists herald_gateway_settings (
    key   text primary key,
    value text not null
  );
`;


export interface ApiKeyRecord { id: string; workspaceId: string; name: string; role: Role; createdAt: string; createdBy: string | null; lastUsedAt: string | null }
export interface MemberRecord { id: string; workspaceId: string; issuer: string | null; subject: string | null; email: string | null; role: Role; createdAt: string; createdBy: string | null }
export interface WorkspaceRecord { id: string; name: string; createdAt: string }

/** `hk_<id>_<secret>`: the id finds the row, the secret (32 random bytes) is kept only as its SHA-256. */
const KEY_FORMAT = /^hk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function newApiKey(): { id: string; secret: string; key: string } {
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, key: `hk_${id}_${secret}` };
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('hk_');
}

/**
 * Workspaces, their members (people signing in with OpenID Connect) and API
 * keys (machines). The gateway's own tables: lookups by key id or subject
 * span workspaces, so they run in the system scope; every row still carries
 * its workspace and the tenant policy (docs/security.md).
 */
export class IdentityStore {
  constructor(private readonly pool: Pool) {}

  async ensureSchema(): Promise<void> {
    await this.pool.query(SCHEMA);
    await secureTenantTables(this.pool);
  }

  async ensureWorkspace(id: string, name: string, createdBy: string | null = null): Promise<void> {
    await this.pool.query(`insert into herald_workspaces (id, name, created_by) values ($1, $2, $3) on conflict (id) do nothing`, [id, name, createdBy]);
  }

  async createWorkspace(name: string, createdBy: string): Promise<WorkspaceRecord> {
    const id = randomUUID();
    const { rows } = await this.pool.query(`insert into herald_workspaces (id, name, created_by) values ($1, $2, $3) returning id, name, created_at`, [id, name, createdBy]);
    return { id: rows[0].id, name: rows[0].name, createdAt: new Date(rows[0].created_at).toISOString() };
  }

  async workspace(id: string): Promise<WorkspaceRecord | null> {
    const { rows } = await this.pool.query(`select id, name, created_at from herald_workspaces where id = $1`, [id]);
    return rows[0] ? { id: rows[0].id, name: rows[0].name, createdAt: new Date(rows[0].created_at).toISOString() } : null;
  }

  /** True when nobody can sign in to the workspace yet (no key, no member). */
  async isEmpty(workspaceId: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      `select (select count(*) from herald_api_keys where workspace_id = $1 and revoked_at is null) + (select count(*) from herald_members where workspace_id = $1) as n`,
      [workspaceId],
    );
    return Number(rows[0].n) === 0;
  }

  async createApiKey(workspaceId: string, name: string, role: Role, createdBy: string | null, given?: string): Promise<{ record: ApiKeyRecord; key: string }> {
    let parts: { id: string; secret: string; key: string };
    if (given) {
      const m = KEY_FORMAT.exec(given);
      if (!m) throw new DomainError('invalid', 'apiKey: must look like hk_<12 lowercase letters or digits>_<43 base64url characters> (generate one with: herald api-key)', 'apiKey');
      parts = { id: m[1], secret: m[2], key: given };
    } else {
      parts = newApiKey();
    }
    const { rows } = await this.pool.query(
      `insert into herald_api_keys (id, workspace_id, name, role, secret_hash, created_by) values ($1, $2, $3, $4, $5, $6)
       on conflict (id) do nothing returning id, workspace_id, name, role, created_at, created_by, last_used_at`,
      [parts.id, workspaceId, name, role, hash(parts.secret), createdBy],
    );
    if (!rows[0]) throw new DomainError('conflict', `apiKey: a key with id ${parts.id} exists already`, 'apiKey');
    return { record: keyRecord(rows[0]), key: parts.key };
  }

  /** The key's record when the secret matches and it is not revoked. */
  async verifyApiKey(token: string): Promise<ApiKeyRecord | null> {
    const m = KEY_FORMAT.exec(token);
    if (!m) return null;
    const { rows } = await this.pool.query(
      `select id, workspace_id, name, role, created_at, created_by, last_used_at, secret_hash from herald_api_keys where id = $1 and revoked_at is null`,
      [m[1]],
    );
    const row = rows[0];
    if (!row || !timingSafeEqual(row.secret_hash as Buffer, hash(m[2]))) return null;
    // At most one write a minute per key: "last used" is for people cleaning up keys, not an access log (that is the audit log).
    if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
      void this.pool.query(`update herald_api_keys set last_used_at = now() where id = $1`, [row.id]).catch(() => undefined);
    }
    return keyRecord(row);
  }

  async keyById(id: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.pool.query(
      `select id, workspace_id, name, role, created_at, created_by, last_used_at from herald_api_keys where id = $1 and revoked_at is null`, [id]);
    return rows[0] ? keyRecord(rows[0]) : null;
  }

  async member(workspaceId: string, id: string): Promise<MemberRecord | null> {
    const { rows } = await this.pool.query(`select * from herald_members where workspace_id = $1 and id = $2`, [workspaceId, id]);
    return rows[0] ? memberRecord(rows[0]) : null;
  }

  async listApiKeys(workspaceId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query(
      `select id, workspace_id, name, role, created_at, created_by, last_used_at from herald_api_keys where workspace_id = $1 and revoked_at is null order by created_at`,
      [workspaceId],
    );
    return rows.map(keyRecord);
  }

  async revokeApiKey(workspaceId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`update herald_api_keys set revoked_at = now() where workspace_id = $1 and id = $2 and revoked_at is null`, [workspaceId, id]);
    return (rowCount ?? 0) > 0;
  }

  async addMember(workspaceId: string, m: { issuer?: string | null; subject?: string | null; email?: string | null; role: Role }, createdBy: string): Promise<MemberRecord> {
    const { rows } = await this.pool.query(
      `insert into herald_members (id, workspace_id, issuer, subject, email, role, created_by) values ($1, $2, $3, $4, lower($5), $6, $7)
       on conflict do nothing returning *`,
      [randomUUID(), workspaceId, m.issuer ?? null, m.subject ?? null, m.email ?? null, m.role, createdBy],
    );
    if (!rows[0]) throw new DomainError('conflict', m.email ? `email: ${m.email} is a member already` : `subject: ${m.subject} is a member already`, m.email ? 'email' : 'subject');
    return memberRecord(rows[0]);
  }

  async setMemberRole(workspaceId: string, id: string, role: Role): Promise<MemberRecord | null> {
    const { rows } = await this.pool.query(`update herald_members set role = $3 where workspace_id = $1 and id = $2 returning *`, [workspaceId, id, role]);
    return rows[0] ? memberRecord(rows[0]) : null;
  }

  async removeMember(workspaceId: string, id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`delete from herald_members where workspace_id = $1 and id = $2`, [workspaceId, id]);
    return (rowCount ?? 0) > 0;
  }

  async listMembers(workspaceId: string): Promise<MemberRecord[]> {
    const { rows } = await this.pool.query(`select * from herald_members where workspace_id = $1 order by created_at`, [workspaceId]);
    return rows.map(memberRecord);
  }

  /**
   * The memberships of a person signing in: by issuer and subject, or by a
   * verified e-mail address an admin invited (bound to the subject on first
   * sign-in, so a later change of address at the provider keeps access).
   */
  async membershipsOf(issuer: string, subject: string, verifiedEmail: string | null): Promise<MemberRecord[]> {
    if (verifiedEmail) {
      await this.pool.query(
        `update herald_members set issuer = $1, subject = $2 where lower(email) = lower($3) and subject is null`,
        [issuer, subject, verifiedEmail],
      );
    }
    const { rows } = await this.pool.query(`select * from herald_members where issuer = $1 and subject = $2 order by created_at`, [issuer, subject]);
    return rows.map(memberRecord);
  }

  /** A value kept for the gateway (the portal's session signing key): created once by whichever replica comes first. */
  async setting(key: string, create: () => string): Promise<string> {
    await this.pool.query(`insert into herald_gateway_settings (key, value) values ($1, $2) on conflict (key) do nothing`, [key, create()]);
    const { rows } = await this.pool.query(`select value from herald_gateway_settings where key = $1`, [key]);
    return rows[0].value as string;
  }
}

function keyRecord(r: any): ApiKeyRecord {
  return {
    id: r.id, workspaceId: r.workspace_id, name: r.name, role: r.role, createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by ?? null,
    lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
  };
}

function memberRecord(r: any): MemberRecord {
  return {
    id: r.id, workspaceId: r.workspace_id, issuer: r.issuer ?? null, subject: r.subject ?? null, email: r.email ?? null, role: r.role,
    createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by ?? null,
  };
}
