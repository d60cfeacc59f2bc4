import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { INGESTION_SCHEMA } from './schema';

const ROOT = join(__dirname, '../../../..');
const ITEMS = 150_000;
const CHUNK = 1024 * 1024;
/** The reader's process gets this much JavaScript heap: about the size of the file, well under what reading it whole takes. */
const HEAP_MB = 64;

/** Item i of the file, all of the same length (so the reader's position can be told from the row). */
const item = (i: number) => {
  const n = String(i).padStart(7, '0');
  return `{"object_id":"ID-${n}","name":"Person ${n}","email":"p${n}@example.com","amount_due":"${n}.00","note":"${'x'.repeat(100)}"}`;
};

// A JSON array upload of many MB, stored in 1 MiB chunks as the gateway hands it over, read from real PostgreSQL.
describe('a large JSON array upload is read in bounded memory', () => {
  let db: TestDatabase;
  const uploadId = randomUUID();
  let size = 0;

  before(async () => {
    db = await createTestDatabase();
    await db.pool.query(INGESTION_SCHEMA);
    await db.pool.query(`insert into ingestion_uploads (id, workspace_id, campaign_id, file_name, state) values ($1, 'ws', $2, 'big.json', 'queued')`, [uploadId, randomUUID()]);
    let pending = Buffer.from('[');
    let seq = 0;
    const put = async (data: Buffer) => {
      await db.pool.query('insert into ingestion_upload_chunks (upload_id, seq, data) values ($1, $2, $3)', [uploadId, seq++, data]);
      size += data.length;
    };
    const parts: string[] = [];
    for (let i = 1; i <= ITEMS; i++) {
      parts.push((i > 1 ? ',' : '') + item(i));
      if (parts.length === 2000) {
        pending = Buffer.concat([pending, Buffer.from(parts.splice(0).join(''))]);
        while (pending.length >= CHUNK) { await put(pending.subarray(0, CHUNK)); pending = pending.subarray(CHUNK); }
      }
    }
    pending = Buffer.concat([pending, Buffer.from(parts.join('') + ']\n')]);
    while (pending.length) { await put(pending.subarray(0, CHUNK)); pending = pending.subarray(CHUNK); }
  });
  after(async () => db?.drop());

  it(`reads every item of a file of ${ITEMS} items in a process with ${HEAP_MB} MB of heap, never more than a chunk ahead of the row it yields`, async () => {
    assert.ok(size > 30 * 1024 * 1024, `the file is large (${size} bytes)`);
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '-r', join(ROOT, 'tools/register.js'), join(ROOT, 'services/ingestion/test/read-rows-child.ts'), uploadId, 'big.json', String(item(1).length)], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the reader ran out of memory or failed:\n${err.slice(-2000)}`);
    const report = JSON.parse(out.trim().split('\n').pop()!) as { rows: number; lastRow: number; maxAhead: number; fetched: number };
    assert.equal(report.rows, ITEMS, 'every item is a row');
    assert.equal(report.lastRow, ITEMS, 'rows are the items positions from 1');
    assert.equal(report.fetched, size, 'the whole file was read');
    // Streaming: when a row comes out, the reader has fetched the file only up to the end of the chunk that holds the row's end.
    assert.ok(report.maxAhead <= CHUNK, `fetched at most one chunk ahead of the row being read (was ${report.maxAhead} bytes)`);
  });
});
