import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DomainError } from '@herald/contracts';

const VERSION = 'v1';

/**
 * Credentials at rest: AES-256-GCM, a fresh 96-bit IV per value, the tag
 * checked on read (a tampered value fails instead of decrypting to garbage).
 * The key comes from HERALD_SECRET_KEY (32 bytes as base64 or hex); in the
 * embedded mode without it, a key is generated once and kept in the data
 * folder (mode 0600), so `npm start` works out of the box and restarts can
 * still read what they stored.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer | null, readonly source: string) {}

  static fromKey(key: Buffer): SecretBox {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    return new SecretBox(key, 'given');
  }

  /** No key: storing or reading a secret fails with a message saying how to set one. */
  static none(): SecretBox {
    return new SecretBox(null, 'none');
  }

  static fromEnvironment(env: NodeJS.ProcessEnv, mode: 'embedded' | 'distributed', dataDir: string): SecretBox {
    const raw = env.HERALD_SECRET_KEY?.trim();
    if (raw) return new SecretBox(parseKey(raw), 'HERALD_SECRET_KEY');
    if (mode !== 'embedded') return SecretBox.none();
    const file = resolve(dataDir, 'secret.key');
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      // 'wx': two processes starting at once never overwrite each other's key.
      try {
        writeFileSync(file, randomBytes(32).toString('base64') + '\n', { flag: 'wx', mode: 0o600 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    chmodSync(file, 0o600);
    return new SecretBox(parseKey(readFileSync(file, 'utf8').trim()), file);
  }

  encrypt(value: unknown): string {
    const key = this.requireKey();
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  decrypt<T = unknown>(sealed: string): T {
    const key = this.requireKey();
    const [version, payload] = sealed.split(':', 2);
    if (version !== VERSION || !payload) throw new Error('stored secret has an unknown format');
    const bytes = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    try {
      return JSON.parse(Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8')) as T;
    } catch {
      throw new Error('stored secret cannot be decrypted with this HERALD_SECRET_KEY (was the key changed?)');
    }
  }

  private requireKey(): Buffer {
    if (!this.key) throw new DomainError('precondition', 'HERALD_SECRET_KEY is not set: credentials cannot be stored or read (32 random bytes, base64: `openssl rand -base64 32`)');
    return this.key;
  }
}

function parseKey(raw: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new Error('HERALD_SECRET_KEY must be 32 bytes, given as base64 (44 characters) or hex (64 characters)');
  return key;
}

/** Signs and checks short tokens (unsubscribe links) with a key derived from the secret key. */
export class TokenSigner {
  constructor(private readonly key: Buffer) {}

  static from(box: SecretBox): TokenSigner | null {
    const key = (box as unknown as { key: Buffer | null }).key;
    return key ? new TokenSigner(createHmac('sha256', key).update('herald-token-signing').digest()) : null;
  }

  sign(payload: object): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${createHmac('sha256', this.key).update(body).digest('base64url')}`;
  }

  verify<T>(token: string): T | null {
    const [body, mac] = String(token).split('.');
    if (!body || !mac) return null;
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return null;
    }
  }
}
