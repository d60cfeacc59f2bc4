import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { promisify } from 'node:util';
import yazl from 'yazl';
import yauzl from 'yauzl';
import { invalid } from '@herald/contracts';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>;

/**
 * A campaign export: a ZIP sealed with AES-256-GCM under a key derived
 * (scrypt) from a random secret shown once to the user. Layout:
 *
 *   "HERALDX1" | salt (16) | nonce (12) | ciphertext | tag (16)
 *
 * The header is authenticated data, so a wrong key or any changed byte
 * fails decryption before a single ZIP byte is parsed. The ZIP inside is then
 * read with limits: no `..`, absolute paths, links or directories outside the
 * root, at most MAX_ENTRIES entries and MAX_EXPANDED bytes once inflated.
 */
const MAGIC = Buffer.from('HERALDX1');
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const MAX_ENTRIES = 200;
export const MAX_EXPANDED = 16 * 1024 * 1024;
export const MAX_SEALED = 8 * 1024 * 1024;

export function newSecretKey(): string {
  // 256 bits, base64url: what the user copies.
  return randomBytes(32).toString('base64url');
}

async function keyFrom(secret: string, salt: Buffer): Promise<Buffer> {
  return scrypt(secret, salt, 32, SCRYPT);
}

export async function seal(files: Record<string, string | Buffer>, secret: string): Promise<Buffer> {
  const zip = await zipFiles(files);
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const header = Buffer.concat([MAGIC, salt, nonce]);
  const cipher = createCipheriv('aes-256-gcm', await keyFrom(secret, salt), nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(zip), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Decrypts and verifies, then reads the ZIP within limits. Errors name what is wrong; nothing is written anywhere. */
export async function unseal(data: Buffer, secret: string): Promise<Map<string, Buffer>> {
  if (data.length > MAX_SEALED) throw invalid('file', `an export is at most ${MAX_SEALED / 1024 / 1024} MB`);
  const headerLength = MAGIC.length + 16 + 12;
  if (data.length < headerLength + 16 || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw invalid('file', 'not a Herald campaign export');
  }
  if (typeof secret !== 'string' || !secret.trim()) throw invalid('secretKey', 'is required');
  const header = data.subarray(0, headerLength);
  const salt = header.subarray(MAGIC.length, MAGIC.length + 16);
  const nonce = header.subarray(MAGIC.length + 16);
  const decipher = createDecipheriv('aes-256-gcm', await keyFrom(secret.trim(), salt), nonce);
  decipher.setAAD(header);
  decipher.setAuthTag(data.subarray(data.length - 16));
  let zip: Buffer;
  try {
    zip = Buffer.concat([decipher.update(data.subarray(headerLength, data.length - 16)), decipher.final()]);
  } catch {
    throw invalid('secretKey', 'the secret key does not open this export, or the file was changed');
  }
  return readZip(zip);
}

function zipFiles(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), name, { mtime: new Date(0), mode: 0o100644 });
  zip.end();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => parts.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(parts)));
    zip.outputStream.on('error', reject);
  });
}

/** Reads a ZIP from memory with the limits above. Exported for tests of hostile archives. */
export function readZip(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true, decodeStrings: true }, (error, archive) => {
      if (error || !archive) return reject(invalid('file', `the archive is not a valid ZIP: ${error?.message ?? 'unreadable'}`));
      const files = new Map<string, Buffer>();
      let expanded = 0;
      let entries = 0;
      const fail = (e: Error) => {
        archive.close();
        reject(e);
      };
      archive.on('error', (e: Error) => fail(invalid('file', `the archive is damaged: ${e.message}`)));
      archive.on('end', () => resolve(files));
      archive.on('entry', (entry: yauzl.Entry) => {
        entries += 1;
        if (entries > MAX_ENTRIES) return fail(invalid('file', `the archive has more than ${MAX_ENTRIES} entries`));
        const name = entry.fileName;
        const problem = unsafeName(name);
        if (problem) return fail(invalid('file', `entry "${name}": ${problem}`));
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (mode === 0o120000) return fail(invalid('file', `entry "${name}": links are not allowed`));
        if (name.endsWith('/')) return archive.readEntry();
        if (expanded + entry.uncompressedSize > MAX_EXPANDED) return fail(invalid('file', `the archive expands past ${MAX_EXPANDED / 1024 / 1024} MB`));
        archive.openReadStream(entry, (err, stream) => {
          if (err || !stream) return fail(invalid('file', `entry "${name}": ${err?.message ?? 'unreadable'}`));
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => {
            expanded += c.length;
            // Declared sizes can lie: count what actually comes out.
            if (expanded > MAX_EXPANDED) {
              stream.destroy();
              fail(invalid('file', `the archive expands past ${MAX_EXPANDED / 1024 / 1024} MB`));
              return;
            }
            parts.push(c);
          });
          stream.on('error', (e: Error) => fail(invalid('file', `entry "${name}": ${e.message}`)));
          stream.on('end', () => {
            files.set(name, Buffer.concat(parts));
            archive.readEntry();
          });
        });
      });
      archive.readEntry();
    });
  });
}

function unsafeName(name: string): string | null {
  if (!name || name.length > 255) return 'a name of 1 to 255 characters is required';
  if (name.includes('\\')) return 'backslashes are not allowed in names';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'absolute paths are not allowed';
  if (name.split('/').some((part) => part === '..')) return '".." is not allowed in paths';
  if (name.includes('\0')) return 'NUL is not allowed in names';
  return null;
}
