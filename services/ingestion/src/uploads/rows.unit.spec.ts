import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_RECORD, parseRows, type SourceRow } from './rows';

/** The file as the worker gets it from the database: chunks split anywhere (here every `size` bytes). */
async function* chunked(text: string | Buffer, size: number): AsyncGenerator<Buffer> {
  const data = Buffer.isBuffer(text) ? text : Buffer.from(text);
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

async function collect(rows: AsyncGenerator<SourceRow>): Promise<{ rows: SourceRow[]; error: string | null }> {
  const out: SourceRow[] = [];
  try {
    for await (const r of rows) out.push(r);
    return { rows: out, error: null };
  } catch (error) {
    return { rows: out, error: (error as Error).message };
  }
}

describe('JSON array uploads, read as a stream', () => {
  it('numbers items from 1, keeps JSON types, lower-cases keys, and reads a BOM and characters split across chunks', async () => {
    const text = '\uFEFF[ {"OBJECT_ID": "J1", "Name": "Zoë €", "tier": {"level": 2}}, {"object_id": "J2", "phone": "+12025550123", "score": 7.5} ]\n';
    for (const size of [1, 2, 3, 7, 1024]) {
      const { rows, error } = await collect(parseRows(chunked(text, size), 'json'));
      assert.equal(error, null, `chunks of ${size}`);
      assert.deepEqual(rows, [
        { row: 1, record: { object_id: 'J1', name: 'Zoë €', tier: { level: 2 } } },
        { row: 2, record: { object_id: 'J2', phone: '+12025550123', score: 7.5 } },
      ], `chunks of ${size}`);
    }
  });

  it('rejects an item that is not an object at its row, and goes on', async () => {
    const { rows, error } = await collect(parseRows(chunked('[{"email":"a@example.com"}, 42, ["x"], {"email":"b@example.com"}]', 5), 'json'));
    assert.equal(error, null);
    assert.deepEqual(rows.map((r) => [r.row, r.record.__error ?? r.record.email]), [[1, 'a@example.com'], [2, 'not a JSON object'], [3, 'not a JSON object'], [4, 'b@example.com']]);
  });

  it('stops at a broken item with its number, after yielding the items before it', async () => {
    const { rows, error } = await collect(parseRows(chunked('[{"email":"a@example.com"},{"email":"b@example.com"},{"email": broken}]', 8), 'json'));
    assert.deepEqual(rows.map((r) => r.row), [1, 2]);
    assert.match(error ?? '', /^item 3 of the JSON array is not valid JSON/);
  });

  it('refuses a document that is not an array, a truncated array and data after the array', async () => {
    assert.match((await collect(parseRows(chunked('{"email":"a@example.com"}', 4), 'json'))).error ?? '', /must be an array of objects/);
    assert.match((await collect(parseRows(chunked('   \n', 4), 'json'))).error ?? '', /must be an array of objects/);
    const truncated = await collect(parseRows(chunked('[{"email":"a@example.com"},{"email":"b@exa', 4), 'json'));
    assert.deepEqual(truncated.rows.map((r) => r.row), [1]);
    assert.match(truncated.error ?? '', /ends after item 1 without its closing bracket/);
    assert.match((await collect(parseRows(chunked('[{"email":"a@example.com"}]\n[{"email":"b@example.com"}]', 1024), 'json'))).error ?? '', /followed by more data after item 1/);
    assert.equal((await collect(parseRows(chunked('[{"email":"a@example.com"}]\n\n  ', 3), 'json'))).error, null, 'whitespace after the array is fine');
  });

  it('rejects the file at an item longer than the record limit, without holding more than about that much', async () => {
    const huge = `[{"email":"a@example.com"},{"note":"${'x'.repeat(MAX_RECORD + 200_000)}"},{"email":"c@example.com"}]`;
    const { rows, error } = await collect(parseRows(chunked(huge, 1024 * 1024), 'json'));
    assert.deepEqual(rows.map((r) => r.row), [1]);
    assert.match(error ?? '', /^item 2 of the JSON array is longer than 1 MiB/);
  });
});
