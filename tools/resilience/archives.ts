import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { Readable } from 'node:stream';
import yazl from 'yazl';

/*
 * Hostile campaign archives, built the way an attacker who holds a secret
 * key would: any ZIP, sealed in the export format of
 * services/campaigns/src/export/sealed-archive.ts
 * ("HERALDX1" | salt | nonce | AES-256-GCM ciphertext | tag, key = scrypt of
 * the secret). A wrong key is refused before the ZIP is read, so only a
 * correctly sealed archive reaches the ZIP reader's defences.
 */

export interface Entry { name: string; data?: Buffer; zeros?: number; mode?: number }

/** A ZIP of the entries; `zeros` entries stream that many zero bytes (a bomb without holding it in memory). */
export function zip(entries: Entry[]): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) {
    const options = { mode: e.mode ?? 0o100644, mtime: new Date(0), compress: true };
    if (e.zeros !== undefined) {
      const chunk = Buffer.alloc(1024 * 1024);
      let left = e.zeros;
      z.addReadStream(new Readable({
        read() {
          if (left <= 0) return this.push(null);
          const n = Math.min(left, chunk.length);
          left -= n;
          this.push(chunk.subarray(0, n));
        },
      }), e.name, options);
    } else {
      z.addBuffer(e.data ?? Buffer.alloc(0), e.name, options);
    }
  }
  z.end();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => parts.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(parts)));
    z.outputStream.on('error', reject);
  });
}

/** Renames entries in place (local headers and central directory), same length: how names yazl refuses are made. */
export function rename(archive: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('rename keeps the length');
  const out = Buffer.from(archive);
  for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + 1)) out.write(to, at, 'latin1');
  return out;
}

/** Sets every entry's declared uncompressed size (local header and central directory) to `size`: a bomb that lies. */
export function lieAboutSizes(archive: Buffer, size: number): Buffer {
  const out = Buffer.from(archive);
  for (const [signature, offset] of [[0x04034b50, 22], [0x02014b50, 24]] as const) {
    const sig = Buffer.alloc(4);
    sig.writeUInt32LE(signature);
    for (let at = out.indexOf(sig); at >= 0; at = out.indexOf(sig, at + 1)) out.writeUInt32LE(size, at + offset);
  }
  return out;
}

/** Seals a ZIP under `secret` in Herald's export format. */
export function sealZip(zipped: Buffer, secret: string): Buffer {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const header = Buffer.concat([Buffer.from('HERALDX1'), salt, nonce]);
  const key = scryptSync(secret, salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(zipped), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** A valid campaign.json naming a strategy file at `path`. */
export function manifest(path: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    format: 'herald-campaign', version: 1, exportedAt: new Date(0).toISOString(), note: '',
    campaign: { name: 'Imported', description: 'hostile', labels: [] },
    stages: [{ name: '1 Step', description: 'x', channel: 'no_communication', agent: null, settings: {} }],
    strategies: [{ name: 'Load', description: 'x', type: 'DATA_LOAD', functionName: 'run', fileName: 'load.py', path, version: 1 }],
    settings: {}, resultDefinitions: [], analytics: null,
    ...extra,
  });
}
