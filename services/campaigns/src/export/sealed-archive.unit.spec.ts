import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import yazl from 'yazl';
import { DomainError } from '@herald/contracts';
import { MAX_ENTRIES, newSecretKey, readZip, seal, unseal } from './sealed-archive';

function zip(entries: { name: string; data: Buffer; mode?: number }[]): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) z.addBuffer(e.data, e.name, { mode: e.mode ?? 0o100644, compress: true });
  z.end();
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => parts.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(parts)));
  });
}

/** Renames an entry in place (local header and central directory): how hostile names are made, since yazl refuses them. */
function rename(archive: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const out = Buffer.from(archive);
  let at = out.indexOf(from);
  while (at >= 0) {
    out.write(to, at, 'latin1');
    at = out.indexOf(from, at + 1);
  }
  return out;
}

const refused = (pattern: RegExp) => (e: unknown) => e instanceof DomainError && e.code === 'invalid' && pattern.test(e.message);

describe('sealed campaign archives', () => {
  it('round-trips files under the secret key', async () => {
    const key = newSecretKey();
    const sealed = await seal({ 'campaign.json': '{"a":1}', 'strategies/DATA_LOAD/load.py': 'def run(c): return c' }, key);
    const files = await unseal(sealed, key);
    assert.equal(files.get('campaign.json')?.toString(), '{"a":1}');
    assert.equal(files.get('strategies/DATA_LOAD/load.py')?.toString(), 'def run(c): return c');
    assert.doesNotMatch(sealed.toString('latin1'), /def run/, 'the content is encrypted');
  });

  it('refuses a wrong key and any changed byte before reading the archive', async () => {
    const key = newSecretKey();
    const sealed = await seal({ 'campaign.json': '{}' }, key);
    await assert.rejects(unseal(sealed, newSecretKey()), refused(/secret key does not open/));
    for (const at of [3, 10, 30, Math.floor(sealed.length / 2), sealed.length - 1]) {
      const changed = Buffer.from(sealed);
      changed[at] ^= 0x01;
      await assert.rejects(unseal(changed, key), refused(/not a Herald campaign export|secret key does not open/), `byte ${at}`);
    }
    await assert.rejects(unseal(Buffer.from('PK\x03\x04 plain zip'), key), refused(/not a Herald campaign export/));
  });

  it('refuses entries that climb out, absolute paths and links', async () => {
    const slip = rename(await zip([{ name: 'xx/evil.txt', data: Buffer.from('x') }]), 'xx/evil.txt', '../evil.txt');
    await assert.rejects(readZip(slip), refused(/\.\.|relative path/));
    const absolute = rename(await zip([{ name: 'xetc/passwd', data: Buffer.from('x') }]), 'xetc/passwd', '/etc/passwd');
    await assert.rejects(readZip(absolute), refused(/absolute/));
    const link = await zip([{ name: 'link', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]);
    await assert.rejects(readZip(link), refused(/links are not allowed/));
  });

  it('stops a zip bomb at the expansion cap, and archives with too many entries', async () => {
    const bomb = await zip([{ name: 'zeros', data: Buffer.alloc(40 * 1024 * 1024) }]);
    assert.ok(bomb.length < 200 * 1024, 'a small archive');
    await assert.rejects(readZip(bomb), refused(/expands past/));
    // The same bomb lying about its size in its headers is still stopped.
    const liar = Buffer.from(bomb);
    for (const [sig, offset] of [[0x04034b50, 22], [0x02014b50, 24]] as const) {
      for (let at = liar.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24])); at >= 0; at = liar.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24]), at + 1)) {
        liar.writeUInt32LE(1000, at + offset);
      }
    }
    await assert.rejects(readZip(liar), refused(/expands past|damaged|too many bytes|unreadable|entry/));
    const many = await zip(Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => ({ name: `f${i}`, data: Buffer.from('x') })));
    await assert.rejects(readZip(many), refused(/more than/));
    await assert.rejects(readZip(Buffer.from('not a zip at all')), refused(/not a valid ZIP/));
  });
});
