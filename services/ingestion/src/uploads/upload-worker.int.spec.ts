import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { campaignStreamId, newEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { rebuild } from '@herald/campaign-model';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { INGESTION_SCHEMA } from './schema';
import { UploadWorker } from './upload-worker';
import { passthroughStrategies } from '../../test/passthrough-strategies';

const ROOT = join(__dirname, '../../../..');
const ROWS = 6000;
/** Every 97th row has neither email nor phone: rejected, and counted once. */
const isInvalid = (i: number) => i % 97 === 0;
const INVALID = Array.from({ length: ROWS }, (_, i) => i + 1).filter(isInvalid).length;
const VALID = ROWS - INVALID;

type Counts = { state: string; rows_done: number; rows_read: number; imported: number; created: number; rejected: number; worker: string | null };

// Real PostgreSQL; workers that die or lose their lease in the middle of an upload.
describe('upload worker: an accepted upload survives a crash of the worker, counted once', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const ws = 'ws-ingest';

  /** A campaign whose upload of ROWS rows (header = row 1) is committed, in 16 KiB chunks as the gateway streams it. */
  async function queuedUpload(): Promise<{ campaignId: string; uploadId: string }> {
    const campaignId = randomUUID();
    const uploadId = randomUUID();
    await store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'c', description: 'd', labels: [] }, { workspaceId: ws }),
      newEvent('ContactsUploadStarted', { uploadId, fileName: 'contacts.csv' }, { workspaceId: ws }),
    ], 'no_stream');
    const lines = ['object_id,name,email'];
    for (let i = 1; i <= ROWS; i++) lines.push(`ID-${i},Person ${i},${isInvalid(i) ? '' : `p${i}@example.com`}`);
    const data = Buffer.from(lines.join('\n') + '\n');
    await db.pool.query(`insert into ingestion_uploads (id, workspace_id, campaign_id, file_name, state) values ($1, $2, $3, 'contacts.csv', 'queued')`, [uploadId, ws, campaignId]);
    for (let seq = 0, off = 0; off < data.length; seq++, off += 16_384) {
      await db.pool.query('insert into ingestion_upload_chunks (upload_id, seq, data) values ($1, $2, $3)', [uploadId, seq, data.subarray(off, off + 16_384)]);
    }
    return { campaignId, uploadId };
  }

  const counts = async (uploadId: string): Promise<Counts> =>
    (await db.pool.query<Counts>('select state, rows_done, rows_read, imported, created, rejected, worker from ingestion_uploads where id = $1', [uploadId])).rows[0];

  /** What the event store and the report hold for the upload, against what the file holds. */
  async function assertCountedOnce(campaignId: string, uploadId: string): Promise<void> {
    const { rows } = await db.pool.query<{ created: string; streams: string; events: string }>(
      `select count(*) filter (where type = 'ContactCreated') as created,
              count(distinct stream_id) filter (where stream_id like 'contact-%') as streams,
              count(*) filter (where stream_id like 'contact-%') as events
         from herald_events where metadata->>'correlationId' = $1`,
      [uploadId],
    );
    assert.equal(Number(rows[0].created), VALID, 'one ContactCreated per valid row');
    assert.equal(Number(rows[0].streams), VALID, 'one stream per contact');
    assert.equal(Number(rows[0].events), VALID, 'no duplicate events');
    const upload = await counts(uploadId);
    assert.deepEqual(
      { state: upload.state, rowsRead: upload.rows_read, imported: upload.imported, created: upload.created, rejected: upload.rejected },
      { state: 'completed', rowsRead: ROWS, imported: VALID, created: VALID, rejected: INVALID },
      'the report counts every row exactly once',
    );
    const { rows: report } = await db.pool.query<{ n: string }>('select count(*) as n from ingestion_upload_rejections where upload_id = $1', [uploadId]);
    assert.equal(Number(report[0].n), INVALID, 'each rejected row once in the report');
    const completed = await eventually(async () => (await store.readStream(campaignStreamId(campaignId))).find((e) => e.type === 'ContactsUploadCompleted'), { what: 'ContactsUploadCompleted' });
    assert.deepEqual(completed.data, { uploadId, rowsRead: ROWS, imported: VALID, created: VALID, rejected: INVALID }, 'the campaign hears the same counts (its contact count adds `created`)');
    const history = await store.readStream(campaignStreamId(campaignId));
    const progressed = history.filter((e) => e.type === 'ContactsUploadProgressed');
    assert.ok(progressed.length >= 1, 'the campaign hears of contacts before the upload completes');
    assert.ok(progressed.every((e) => e.revision < completed.revision), 'progress comes before the completion');
    const totals = progressed.map((e) => (e.data as { created: number }).created);
    assert.ok(totals.every((n, i) => n > 0 && n <= VALID && (i === 0 || n > totals[i - 1])), `running totals grow: ${totals.join(', ')}`);
    assert.equal(rebuild(history)!.contactCount, VALID, 'the campaign counts every created contact once, progress and completion together');
  }

  async function completeWith(worker: UploadWorker, uploadId: string): Promise<void> {
    worker.start();
    try {
      await eventually(async () => ((await counts(uploadId)).state === 'completed' ? true : undefined), { what: 'the upload to complete', timeoutMs: 120_000 });
    } finally {
      await worker.stop();
    }
  }

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await db.pool.query(INGESTION_SCHEMA);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('kill -9 halfway, another worker resumes after the lease: every row imported, and counted, exactly once', async () => {
    const { campaignId, uploadId } = await queuedUpload();
    const child = spawn(process.execPath, ['-r', join(ROOT, 'tools/register.js'), join(ROOT, 'services/ingestion/test/upload-worker-child.ts')], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const done = await eventually(async () => {
      const { rows_done } = await counts(uploadId);
      return rows_done > 0 ? rows_done : undefined;
    }, { what: `the child worker to import a first batch\n${output}`, timeoutMs: 60_000, intervalMs: 5 });
    // The worst moment to die: rows appended to the event store whose counts are not booked yet. Holding the
    // upload's row makes the child's next booking wait while the batches in flight append their contacts.
    const lock = await db.pool.connect();
    try {
      await lock.query('begin');
      await lock.query('select 1 from ingestion_uploads where id = $1 for update', [uploadId]);
      const booked = await counts(uploadId);
      await eventually(async () => {
        const { rows } = await db.pool.query<{ n: string }>(`select count(*) as n from herald_events where type = 'ContactCreated' and metadata->>'correlationId' = $1`, [uploadId]);
        // Two batches (500 rows each, some invalid) beyond the booked ones.
        return Number(rows[0].n) >= booked.imported + 2 * (500 - 10) ? true : undefined;
      }, { what: `two batches appended beyond the booked rows\n${output}`, timeoutMs: 60_000, intervalMs: 5 });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    } finally {
      await lock.query('rollback');
      lock.release();
    }
    const atKill = await counts(uploadId);
    assert.ok(done < ROWS, `killed in the middle (after row ${done})`);
    assert.ok(atKill.imported > 0 && atKill.imported < VALID, `some rows were booked before the kill (${atKill.imported})`);

    // The lease of the dead worker expires (shortened here), and a new worker takes the upload over.
    await db.pool.query(`update ingestion_uploads set lease_until = now() - interval '1 second' where id = $1`, [uploadId]);
    await completeWith(new UploadWorker(db.pool, store, passthroughStrategies), uploadId);
    await assertCountedOnce(campaignId, uploadId);
  });

  it('a worker whose lease was taken over books nothing more; the upload is still counted exactly once', async () => {
    const { campaignId, uploadId } = await queuedUpload();
    const slow = new UploadWorker(db.pool, store, passthroughStrategies);
    slow.start();
    let takenOver: Counts;
    try {
      await eventually(async () => ((await counts(uploadId)).rows_done > 0 ? true : undefined), { what: 'a first booked batch', timeoutMs: 60_000, intervalMs: 2 });
      // Its lease "ran out" and another worker claimed the upload: from now on this worker's bookings are refused.
      takenOver = (await db.pool.query<Counts>(
        `update ingestion_uploads set worker = 'another-worker', lease_until = now() + interval '1 hour' where id = $1
         returning state, rows_done, rows_read, imported, created, rejected, worker`, [uploadId])).rows[0];
      assert.ok(takenOver.rows_done < ROWS, 'taken over in the middle');
      await new Promise((r) => setTimeout(r, 1500));
      const later = await counts(uploadId);
      assert.deepEqual(later, takenOver, 'the worker that lost its lease changed neither progress, counts nor state');
    } finally {
      await slow.stop();
    }
    // The other worker died too; a third resumes after the last booked row.
    await db.pool.query(`update ingestion_uploads set lease_until = now() - interval '1 second' where id = $1`, [uploadId]);
    await completeWith(new UploadWorker(db.pool, store, passthroughStrategies), uploadId);
    await assertCountedOnce(campaignId, uploadId);
  });
});
