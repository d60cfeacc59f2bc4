import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { campaignStreamId, DomainError, newEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { UPLOAD_IN_PROGRESS } from '@herald/campaign-model';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { IngestionService } from '../ingestion.service';
import { passthroughStrategies } from '../../test/passthrough-strategies';

/** The expiry, shortened from its default of 300 s (HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS). */
const TIMEOUT_SECONDS = 1;

// The ingestion API on real PostgreSQL: an upload whose uploader died mid-transfer frees the campaign's lock.
describe('an upload that stops arriving expires and frees the one-upload lock', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let ingestion: IngestionService;
  const ws = 'ws-expiry';
  const campaignId = randomUUID();
  const previous = process.env.HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS;

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await store.append(campaignStreamId(campaignId), [newEvent('CampaignCreated', { campaignId, name: 'c', description: 'd', labels: [] }, { workspaceId: ws })], 'no_stream');
    process.env.HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS = String(TIMEOUT_SECONDS);
    ingestion = new IngestionService(store, db.pool, passthroughStrategies);
    await ingestion.onApplicationBootstrap();
  });
  after(async () => {
    if (previous === undefined) delete process.env.HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS;
    else process.env.HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS = previous;
    await ingestion?.onApplicationShutdown();
    await store?.close();
    await db?.drop();
  });

  const refusedAsBusy = (error: unknown) => error instanceof DomainError && error.code === 'conflict' && error.message === UPLOAD_IN_PROGRESS;

  it('keeps an upload whose chunks keep coming, expires one that stopped, and then accepts the next upload', async () => {
    const dying = await ingestion.beginUpload(ws, campaignId, 'contacts.csv');
    await assert.rejects(ingestion.beginUpload(ws, campaignId, 'other.csv'), refusedAsBusy, 'one upload at a time');

    // Progress keeps it alive: a chunk every 400 ms for three times the expiry.
    await ingestion.appendUploadChunk(ws, dying.id, 0, Buffer.from('object_id,email\n'));
    for (let seq = 1; seq <= 7; seq++) {
      await new Promise((r) => setTimeout(r, 400));
      await ingestion.appendUploadChunk(ws, dying.id, seq, Buffer.from(`K${seq},k${seq}@example.com\n`));
    }
    assert.equal((await ingestion.getUpload(ws, campaignId, dying.id)).state, 'receiving', 'an upload that makes progress does not expire');

    // The uploader dies: no chunk, no commit. After the expiry the upload fails with the reason and its chunks go.
    const expired = await eventually(async () => {
      const u = await ingestion.getUpload(ws, campaignId, dying.id);
      return u.state === 'failed' ? u : undefined;
    }, { what: 'the stalled upload to expire', timeoutMs: 15_000 });
    assert.match(expired.message ?? '', new RegExp(`no data for ${TIMEOUT_SECONDS} seconds`));
    assert.equal(expired.imported, 0);
    const { rows } = await db.pool.query<{ n: string }>('select count(*) as n from ingestion_upload_chunks where upload_id = $1', [dying.id]);
    assert.equal(Number(rows[0].n), 0, 'its chunks are deleted');

    // A late chunk or commit of the dead upload is refused with the reason: nothing half-received is imported.
    await assert.rejects(ingestion.appendUploadChunk(ws, dying.id, 8, Buffer.from('K8,k8@example.com\n')), (e: unknown) => e instanceof DomainError && /not receiving/.test(e.message));
    await assert.rejects(ingestion.commitUpload(ws, dying.id), (e: unknown) => e instanceof DomainError && /not accepted: the upload stopped arriving/.test(e.message));

    // The campaign hears it (the lock is freed, no contact counted) and takes the next upload.
    const completed = await eventually(async () => (await store.readStream(campaignStreamId(campaignId))).find((e) => e.type === 'ContactsUploadCompleted'), { what: 'the lock to be freed' });
    assert.deepEqual(completed.data, { uploadId: dying.id, rowsRead: 0, imported: 0, created: 0, rejected: 0 });
    const next = await ingestion.beginUpload(ws, campaignId, 'contacts.csv');
    await ingestion.appendUploadChunk(ws, next.id, 0, Buffer.from('object_id,email\nA1,a1@example.com\nA2,a2@example.com\n'));
    assert.equal((await ingestion.commitUpload(ws, next.id)).id, next.id);
    const done = await eventually(async () => {
      const u = await ingestion.getUpload(ws, campaignId, next.id);
      return u.state === 'completed' ? u : undefined;
    }, { what: 'the next upload', timeoutMs: 30_000 });
    assert.equal(done.imported, 2);
  });
});
