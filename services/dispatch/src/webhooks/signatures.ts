import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of two strings (signatures, tokens). */
export function safeEqual(a: string | undefined | null, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export const hmacHex = (algorithm: 'sha256' | 'sha1', key: string | Buffer, data: string | Buffer) => createHmac(algorithm, key).update(data).digest('hex');
export const hmacBase64 = (algorithm: 'sha256' | 'sha1', key: string | Buffer, data: string | Buffer) => createHmac(algorithm, key).update(data).digest('base64');

/** The JSON body of a webhook, or null when it is not JSON. */
export function jsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}
