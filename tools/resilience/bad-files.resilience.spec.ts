import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { file, form, startEmbedded } from '../../services/gateway/e2e/harness';
import { api } from '../../services/gateway/e2e/walking-skeleton';
import { lieAboutSizes, manifest, rename, sealZip, zip } from './archives';
import { peakRss, resetPeakRss, rss } from './platform';
import { reportCase, since } from './report';
import { uploadReport } from './scenario';

/*
 * Issue 9, point 11: hostile files through the API, against the one-process
 * platform (npm start: gateway, services and the embedded database in one
 * process, so its peak RSS covers everything that handles the file). Each
 * must be refused fast with an error that says what is wrong, without the
 * process's peak resident memory growing with the file (VmHWM, reset before
 * each request, against the resident size before it), and nothing
 * may be written outside the process's temporary folders (TMPDIR and
 * HERALD_DATA_DIR, both fresh): the zip-slip entries aim at paths that must
 * not exist afterwards, and the upload spool must be empty again.
 */
const MB = 1024 * 1024;
const DEEP = 100_000;
const deep = (inner = '') => `${'['.repeat(DEEP)}${inner}${']'.repeat(DEEP)}`;

describe('resilience: bad files are refused fast, with bounded memory, writing nothing outside temporary folders', () => {
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let spool: string;
  let campaignId: string;
  const marker = `herald-slip-${randomBytes(4).toString('hex')}`;
  const results: { name: string; ms: number; growth: number; answer: string }[] = [];

  before(async () => {
    spool = mkdtempSync(join(tmpdir(), 'herald-spool-'));
    chmodSync(spool, 0o755); // like /tmp: the sandboxed strategy workers (another uid) read their code from under it
    platform = await startEmbedded({ TMPDIR: spool });
    const c = await api(platform.base, 'POST', '/api/campaigns', { name: 'Bad files', description: 'hostile input' });
    assert.equal(c.status, 201);
    campaignId = c.body.id;
  });
  after(async () => {
    await platform?.stop();
    rmSync(spool, { recursive: true, force: true });
  });

  /** Runs one hostile request; records its time and the growth of the process's peak RSS. */
  async function refuse(name: string, limitMs: number, maxGrowthMb: number, send: () => Promise<string>): Promise<void> {
    const pid = platform.herald.child.pid!;
    // The peak (VmHWM) starts again from the resident size now: what it reaches is this request's doing.
    resetPeakRss(pid);
    const before = rss(pid);
    const started = Date.now();
    const answer = await send();
    const ms = since(started);
    const growth = peakRss(pid) - before;
    results.push({ name, ms, growth, answer });
    assert.ok(ms < limitMs, `${name}: refused in ${ms} ms (limit ${limitMs})`);
    assert.ok(growth <= maxGrowthMb * MB, `${name}: peak RSS grew ${(growth / MB).toFixed(1)} MB (limit ${maxGrowthMb})`);
    // The gateway spools uploads here under multer's random names (32 hex digits); the compiler cache and the
    // strategy workers' folder live here too.
    assert.deepEqual(readdirSync(spool).filter((f) => /^[0-9a-f]{32}$/.test(f)), [], `${name}: the upload spool is empty again`);
  }

  /** Uploads a contacts file and returns its report once the worker is done with it. */
  async function uploadFile(fileName: string, content: Buffer | string): Promise<any> {
    const r = await api(platform.base, 'POST', `/api/campaigns/${campaignId}/contacts/uploads`, form({ file: file(fileName, content) }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return uploadReport(platform.base, campaignId, r.body.id, 120_000);
  }

  it('a 100 MB CSV that is one line: the upload fails at the 1 MiB record limit', { timeout: 300_000 }, async () => {
    await refuse('100 MB single-line CSV', 60_000, 90, async () => {
      const report = await uploadFile('one-line.csv', Buffer.alloc(100 * MB, 'a'));
      assert.equal(report.imported, 0);
      const reason = report.state === 'failed' ? report.message : report.errors.map((e: { message: string }) => e.message).join('; ');
      assert.match(reason, /1 MiB|longer than|exceeds|record/i, JSON.stringify(report));
      return `upload ${report.state}: ${reason}`;
    });
  });

  it('a UTF-16 file: the upload fails saying so', async () => {
    await refuse('UTF-16 CSV', 20_000, 32, async () => {
      const report = await uploadFile('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('object_id,email\nU1,u1@example.com\n', 'utf16le')]));
      assert.equal(report.state, 'failed');
      assert.match(report.message, /UTF-16/);
      return `upload failed: ${report.message}`;
    });
  });

  it('100,000-deep JSON: a JSON Lines row and a JSON array item are rejected with their field, the rest imported', async () => {
    await refuse('100k-deep JSON Lines row', 20_000, 32, async () => {
      const report = await uploadFile('deep.jsonl', `{"object_id":"D1","email":"d1@example.com","tree":${deep()}}\n{"object_id":"D2","email":"d2@example.com"}\n`);
      assert.equal(report.state, 'completed', JSON.stringify(report));
      assert.equal(report.imported, 1);
      assert.deepEqual(report.errors.map((e: any) => [e.row, e.field]), [[1, 'tree']]);
      assert.match(report.errors[0].message, /nested deeper than 64 levels/);
      return `row 1 rejected: ${report.errors[0].message}`;
    });
    await refuse('100k-deep JSON array item', 20_000, 32, async () => {
      const report = await uploadFile('deep.json', `[{"object_id":"D3","email":"d3@example.com","tree":${deep()}},{"object_id":"D4","email":"d4@example.com"}]`);
      const reason = report.state === 'failed' ? report.message : report.errors.map((e: { message: string }) => e.message).join('; ');
      assert.match(reason, /nested deeper than 64 levels|deep/, JSON.stringify(report));
      return `upload ${report.state}: ${reason}`;
    });
  });

  it('100,000-deep JSON request bodies: 413 beyond the body limit, 400 below it, never a stack overflow', async () => {
    await refuse('100k-deep JSON body', 5_000, 32, async () => {
      const r = await api(platform.base, 'POST', '/api/campaigns', `{"name":"x","description":"y","labels":${deep()}}`);
      assert.equal(r.status, 413, JSON.stringify(r.body));
      return `${r.status} ${r.body.message}`;
    });
    await refuse('20k-deep JSON body (under the size limit)', 5_000, 32, async () => {
      const r = await api(platform.base, 'POST', `/api/campaigns/${campaignId}/stages`,
        `{"name":"s","description":"y","channel":"no_communication","settings":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.message, 'body: nested deeper than 64 levels');
      return `${r.status} ${r.body.message}`;
    });
  });

  describe('campaign import, sealed with a key the attacker holds', () => {
    const key = randomBytes(32).toString('base64url');
    const importArchive = async (sealed: Buffer) => {
      const r = await api(platform.base, 'POST', '/api/campaigns/import', form({ secretKey: key, file: file('campaign.heraldx', sealed) }));
      return r;
    };
    const refusedImport = async (name: string, archive: Buffer, pattern: RegExp) => {
      await refuse(name, 10_000, 64, async () => {
        const r = await importArchive(sealZip(archive, key));
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(r.body.message, pattern);
        return `${r.status} ${r.body.message}`;
      });
    };

    it('a well-formed archive under that key is accepted (the refusals below are not the key\'s)', async () => {
      const ok = await importArchive(sealZip(await zip([
        { name: 'campaign.json', data: Buffer.from(manifest('strategies/DATA_LOAD/load.py')) },
        { name: 'strategies/DATA_LOAD/load.py', data: Buffer.from('def run(contact, existing_contact, logger, **kwargs):\n    return contact\n') },
      ]), key));
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
    });

    it('a zip bomb (256 MB of zeros in a small archive), also with lying sizes', async () => {
      const bomb = await zip([{ name: 'campaign.json', data: Buffer.from(manifest('strategies/DATA_LOAD/load.py')) }, { name: 'strategies/DATA_LOAD/load.py', zeros: 256 * MB }]);
      assert.ok(bomb.length < 1 * MB, `a small archive (${bomb.length} bytes)`);
      await refusedImport('zip bomb', bomb, /expands past 16 MB/);
      await refusedImport('zip bomb with lying sizes', lieAboutSizes(bomb, 1000), /expands past|too many bytes|damaged|entry/);
    });

    it('zip-slip: "..", absolute and backslash paths and links are refused, and nothing lands where they point', async () => {
      const rel = `../../../../../../../../../../tmp/${marker}-rel.py`;
      const abs = `/tmp/${marker}-abs.py`;
      const win = `..\\..\\..\\..\\..\\tmp\\${marker}-w.py`;
      const entries = (name: string) => [{ name: 'campaign.json', data: Buffer.from(manifest(name)) }, { name, data: Buffer.from('print("escaped")\n') }];
      const placeholder = (name: string) => name.replace(/[^a-z0-9]/gi, 'x');
      const hostile = async (name: string) => rename(await zip(entries(placeholder(name))), placeholder(name), name);
      await refusedImport('zip-slip ".."', await hostile(rel), /"\.\." is not allowed|invalid relative path/);
      await refusedImport('zip-slip absolute path', await hostile(abs), /absolute path/);
      await refusedImport('zip-slip backslashes', await hostile(win), /backslashes are not allowed|invalid relative path/);
      await refusedImport('zip-slip symlink', await zip([...entries('strategies/DATA_LOAD/load.py').slice(0, 1), { name: 'strategies/DATA_LOAD/load.py', data: Buffer.from('/etc/passwd'), mode: 0o120777 }]), /links are not allowed/);
      for (const target of [`/tmp/${marker}-rel.py`, abs, `/tmp/${marker}-w.py`, join(platform.dataDir, `${marker}-rel.py`)]) {
        assert.equal(existsSync(target), false, `nothing written at ${target}`);
      }
    });

    it('a 100,000-deep campaign.json', async () => {
      const archive = await zip([
        { name: 'campaign.json', data: Buffer.from(manifest('strategies/DATA_LOAD/load.py', { stages: [{ name: '1 Step', description: 'x', channel: 'no_communication', agent: null, settings: { tree: [] } }] }).replace('"tree":[]', `"tree":${deep()}`)) },
        { name: 'strategies/DATA_LOAD/load.py', data: Buffer.from('def run(contact, existing_contact, logger, **kwargs):\n    return contact\n') },
      ]);
      await refusedImport('100k-deep campaign.json', archive, /nested deeper than 64 levels/);
    });
  });

  it('reports the figures', () => {
    const pid = platform.herald.child.pid!;
    const peak = peakRss(pid);
    const worstGrowth = Math.max(...results.map((r) => r.growth));
    for (const r of results) console.log(`[bad file] ${r.name}: ${r.ms} ms, peak RSS +${(r.growth / MB).toFixed(1)} MB: ${r.answer.slice(0, 160)}`);
    assert.equal(results.length, 13, 'every hostile request ran');
    reportCase({
      point: 11, name: 'bad files through the API', faults: results.length, checked: results.length, lost: 0, duplicates: 0,
      ms: results.reduce((n, r) => n + r.ms, 0),
      notes: `slowest ${Math.max(...results.map((r) => r.ms))} ms (the 100 MB upload); worst peak-RSS growth ${(worstGrowth / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(0)} MB`,
    });
  });
});
