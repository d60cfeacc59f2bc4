import { ForbiddenException, Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional, UnauthorizedException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request } from 'express';
import { Pool } from 'pg';
import { jwtVerify, SignJWT } from 'jose';
import { loadConfig, PG_POOL, POSTGRES_SESSION_OPTIONS, useSystemScope } from '@herald/service-defaults';
import { IdentityStore, looksLikeApiKey } from './identity-store';
import { OidcVerifier, oidcConfigFromEnv } from './oidc';
import { isRole, type Principal, type Role } from './roles';

export const SESSION_COOKIE = 'herald_session';
const SESSION_HOURS = 12;

/** What a portal session cookie refers to; the role is looked up again on every request, so revoking a key or a member ends its sessions. */
type SessionRef = { k: 'key'; id: string } | { k: 'member'; id: string; ws: string; iss: string; sub: string; name: string };

/**
 * Who is calling, from the request's credentials: an API key
 * (`Authorization: Bearer hk_…`, machines), an OpenID Connect token
 * (`Authorization: Bearer <JWT>`, people and services of an identity
 * provider), or the portal's session cookie. Members of several workspaces
 * pick one with `X-Herald-Workspace`.
 */
@Injectable()
export class AuthService implements OnModuleInit, OnApplicationShutdown {
  readonly identities: IdentityStore;
  private readonly ownPool: Pool | null = null;
  private readonly oidc: OidcVerifier | null;
  private sessionKey: Uint8Array | null = null;

  constructor(@Optional() @Inject(PG_POOL) shared?: Pool) {
    let pool = shared;
    if (!pool) {
      const url = loadConfig().databaseUrl;
      if (!url) throw new Error('the gateway needs a database for its workspaces, members and API keys: set DATABASE_URL');
      pool = this.ownPool = useSystemScope(new Pool({ connectionString: url, max: 4, application_name: 'herald-gateway-identity', options: POSTGRES_SESSION_OPTIONS }));
      pool.on('error', () => undefined);
    }
    this.identities = new IdentityStore(pool);
    const oidc = oidcConfigFromEnv();
    this.oidc = oidc ? new OidcVerifier(oidc) : null;
  }

  async onModuleInit(): Promise<void> {
    await this.identities.ensureSchema();
    this.sessionKey = Buffer.from(await this.identities.setting('portal-session-key', () => randomBytes(32).toString('base64')), 'base64');
    await this.bootstrap();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ownPool?.end().catch(() => undefined);
  }

  /**
   * The first admin. HERALD_BOOTSTRAP_ADMIN_KEY (a Kubernetes Secret, a test)
   * makes sure that key exists; otherwise a workspace nobody can sign in to
   * gets a new admin key, printed once and, embedded, kept in the data folder.
   */
  private async bootstrap(): Promise<void> {
    const config = loadConfig();
    const workspaceId = config.workspaceId;
    await this.identities.ensureWorkspace(workspaceId, workspaceId === 'default' ? 'Default workspace' : workspaceId);
    const given = process.env.HERALD_BOOTSTRAP_ADMIN_KEY;
    if (given) {
      if (!(await this.identities.verifyApiKey(given))) {
        await this.identities.createApiKey(workspaceId, 'bootstrap admin', 'admin', 'bootstrap', given).catch((error: Error) => {
          // Another replica registered it in the meantime: fine; anything else is a configuration error.
          if (!/exists already/.test(error.message)) throw error;
        });
      }
      return;
    }
    if (!(await this.identities.isEmpty(workspaceId))) return;
    const { key } = await this.identities.createApiKey(workspaceId, 'first admin', 'admin', 'bootstrap');
    const where = config.mode === 'embedded' ? join(config.dataDir, 'admin-api-key') : null;
    if (where && !existsSync(where)) {
      writeFileSync(where, key + '\n', { mode: 0o600 });
      chmodSync(where, 0o600);
    }
    // Written past the logger on purpose: log pipelines redact API keys, and this one line is how the first admin gets in.
    process.stdout.write(
      `[Herald] first admin created for workspace "${workspaceId}". Sign in to the portal with the API key ${key} ` +
      `or call the API with "Authorization: Bearer ${key}"${where ? ` (also saved in ${where})` : ''}. Create more keys and members under /api/api-keys and /api/members.\n`,
    );
  }

  /** The caller; 401 without valid credentials, 403 for a valid identity that is no member of the workspace asked for. */
  async authenticate(req: Request): Promise<Principal> {
    const workspaceAsked = headerOf(req, 'x-herald-workspace');
    const authorization = headerOf(req, 'authorization');
    if (authorization) {
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      if (!m) throw new UnauthorizedException('authorization: use "Bearer <API key or OpenID Connect token>"');
      return this.fromBearer(m[1], workspaceAsked);
    }
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (cookie) return this.fromSession(cookie, req);
    throw new UnauthorizedException('sign in: send "Authorization: Bearer <API key or OpenID Connect token>", or sign in to the portal');
  }

  async fromBearer(token: string, workspaceAsked: string | null): Promise<Principal> {
    if (looksLikeApiKey(token)) {
      const key = await this.identities.verifyApiKey(token);
      if (!key) throw new UnauthorizedException('authorization: the API key is not valid (unknown, revoked or mistyped)');
      if (workspaceAsked && workspaceAsked !== key.workspaceId) throw new ForbiddenException(`x-herald-workspace: this API key belongs to another workspace`);
      return { actor: `apikey:${key.id}`, actorName: key.name, workspaceId: key.workspaceId, role: key.role, via: 'api_key' };
    }
    if (!this.oidc) throw new UnauthorizedException('authorization: OpenID Connect is not configured here (HERALD_OIDC_ISSUER); use an API key');
    let verified;
    try {
      verified = await this.oidc.verify(token);
    } catch (error) {
      throw new UnauthorizedException(`authorization: the token is not valid: ${(error as Error).message}`);
    }
    const memberships = await this.identities.membershipsOf(verified.issuer, verified.subject, verified.email);
    const member = workspaceAsked ? memberships.find((m) => m.workspaceId === workspaceAsked) : memberships[0];
    if (!member) {
      throw new ForbiddenException(workspaceAsked
        ? `x-herald-workspace: ${verified.email ?? verified.subject} is not a member of workspace ${workspaceAsked}`
        : `${verified.email ?? verified.subject} is not a member of any workspace: ask an admin to add you (POST /api/members)`);
    }
    return {
      actor: `oidc:${verified.issuer}#${verified.subject}`, actorName: verified.name ?? verified.email ?? verified.subject,
      workspaceId: member.workspaceId, role: member.role, via: 'oidc',
    };
  }

  /** A portal session for a caller who proved who they are: an HttpOnly cookie value. */
  async openSession(principal: Principal, credential: string): Promise<string> {
    let ref: SessionRef;
    if (principal.via === 'api_key') {
      ref = { k: 'key', id: principal.actor.slice('apikey:'.length) };
    } else {
      const verified = await this.oidc!.verify(credential);
      const member = (await this.identities.membershipsOf(verified.issuer, verified.subject, verified.email)).find((m) => m.workspaceId === principal.workspaceId)!;
      ref = { k: 'member', id: member.id, ws: member.workspaceId, iss: verified.issuer, sub: verified.subject, name: principal.actorName };
    }
    return new SignJWT({ ref }).setProtectedHeader({ alg: 'HS256' }).setIssuer('herald-portal').setIssuedAt().setExpirationTime(`${SESSION_HOURS}h`).sign(this.sessionKey!);
  }

  private async fromSession(cookie: string, req: Request): Promise<Principal> {
    let ref: SessionRef;
    try {
      const { payload } = await jwtVerify(cookie, this.sessionKey!, { issuer: 'herald-portal', algorithms: ['HS256'] });
      ref = payload.ref as SessionRef;
    } catch {
      throw new UnauthorizedException('the portal session has expired: sign in again');
    }
    // A cookie rides along on any request to this origin: state changes must come from the portal's own pages.
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) throw new ForbiddenException('the request does not come from the portal (cross-site requests are refused)');
    if (ref.k === 'key') {
      const key = await this.identities.keyById(ref.id);
      if (!key) throw new UnauthorizedException('the API key behind this session was revoked: sign in again');
      return { actor: `apikey:${key.id}`, actorName: key.name, workspaceId: key.workspaceId, role: key.role, via: 'session' };
    }
    const member = await this.identities.member(ref.ws, ref.id);
    if (!member || !isRole(member.role)) throw new UnauthorizedException('your membership of this workspace ended: sign in again');
    return { actor: `oidc:${ref.iss}#${ref.sub}`, actorName: ref.name, workspaceId: member.workspaceId, role: member.role as Role, via: 'session' };
  }
}

function headerOf(req: Request, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' && v ? v : null;
}

function cookieOf(req: Request, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

/** Origin (or, without it, Sec-Fetch-Site) says the request comes from this host's own pages. */
function sameOrigin(req: Request): boolean {
  const origin = headerOf(req, 'origin');
  if (origin) {
    try {
      return new URL(origin).host === req.get('host');
    } catch {
      return false;
    }
  }
  const site = headerOf(req, 'sec-fetch-site');
  return site === null || site === 'same-origin' || site === 'none';
}
