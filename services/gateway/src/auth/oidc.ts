import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface OidcConfig {
  /** The `iss` tokens must carry (HERALD_OIDC_ISSUER). */
  readonly issuer: string;
  /** The `aud` tokens must carry (HERALD_OIDC_AUDIENCE). */
  readonly audience: string;
  /** Where the signing keys are (HERALD_OIDC_JWKS_URI); by default found through the issuer's discovery document. */
  readonly jwksUri: string | null;
}

export function oidcConfigFromEnv(env: NodeJS.ProcessEnv = process.env): OidcConfig | null {
  if (!env.HERALD_OIDC_ISSUER) return null;
  if (!env.HERALD_OIDC_AUDIENCE) throw new Error('HERALD_OIDC_ISSUER is set without HERALD_OIDC_AUDIENCE: set the audience (client id) tokens are issued for');
  return { issuer: env.HERALD_OIDC_ISSUER, audience: env.HERALD_OIDC_AUDIENCE, jwksUri: env.HERALD_OIDC_JWKS_URI || null };
}

export interface VerifiedToken { issuer: string; subject: string; email: string | null; name: string | null; payload: JWTPayload }

/**
 * Verifies OpenID Connect access or ID tokens (JWT bearer): signature against
 * the issuer's published keys (fetched and cached by jose, refetched when a
 * token names an unknown key id), issuer, audience, expiry and not-before
 * with a minute of clock tolerance. Only asymmetric algorithms: a token
 * "signed" with the public key as an HMAC secret never verifies.
 */
export class OidcVerifier {
  private keys: Promise<JWTVerifyGetKey> | null = null;

  constructor(private readonly config: OidcConfig) {}

  async verify(token: string): Promise<VerifiedToken> {
    const { payload } = await jwtVerify(token, await this.keySet(), {
      issuer: this.config.issuer,
      audience: this.config.audience,
      clockTolerance: 60,
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    });
    if (!payload.sub) throw new Error('the token has no subject (sub)');
    const email = typeof payload.email === 'string' && payload.email_verified === true ? payload.email : null;
    const name = typeof payload.name === 'string' ? payload.name : typeof payload.preferred_username === 'string' ? payload.preferred_username : null;
    return { issuer: this.config.issuer, subject: payload.sub, email, name, payload };
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.discover().then((uri) => createRemoteJWKSet(new URL(uri), { cooldownDuration: 30_000, timeoutDuration: 5_000 }));
    this.keys.catch(() => (this.keys = null)); // an issuer that was down is asked again next time
    return this.keys;
  }

  private async discover(): Promise<string> {
    if (this.config.jwksUri) return this.config.jwksUri;
    const url = `${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`OpenID discovery at ${url} answered ${res.status}`);
    const doc = (await res.json()) as { issuer?: string; jwks_uri?: string };
    if (doc.issuer !== this.config.issuer) throw new Error(`OpenID discovery at ${url} names issuer ${doc.issuer}, not ${this.config.issuer}`);
    if (!doc.jwks_uri) throw new Error(`OpenID discovery at ${url} has no jwks_uri`);
    return doc.jwks_uri;
  }
}
