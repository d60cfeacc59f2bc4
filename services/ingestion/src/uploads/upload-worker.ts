import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { campaignStreamId, type RowError, type StrategiesApi } from '@herald/contracts';
import { executeCommand, type EventStore } from '@herald/event-store';
import { decide, rebuild, type CampaignChange, type CampaignState } from '@herald/campaign-model';
import { writeCampaignLog } from '@herald/service-defaults';
import { readRows } from './rows';
import { isRowError, validateRow, type ValidRow } from './validate-row';
import { importBatch, rowKey, type BatchContext, type BatchResult } from './import-batch';

interface UploadRow { id: string; workspace_id: string; campaign_id: string; file_name: string; rows_done: number }

const BATCH = 500;
/**
 * How often a running upload tells the campaign how many contacts it has
 * created so far (ContactsUploadProgressed): at the first batch that creates
 * any, then at most once per interval, so a campaign can be started while a
 * large file is still being imported (HERALD_UPLOAD_PROGRESS_SECONDS, default 10).
 */
const PROGRESS_INTERVAL_MS = (Number(process.env.HERALD_UPLOAD_PROGRESS_SECONDS) > 0 ? Number(process.env.HERALD_UPLOAD_PROGRESS_SECONDS) : 10) * 1000;
const STRATEGY_FAILED = 'Data Load strategy failed: ';
/** How long a claimed upload stays with its worker without progress (HERALD_UPLOAD_LEASE_SECONDS, default 60). */
const LEASE_SECONDS = Number(process.env.HERALD_UPLOAD_LEASE_SECONDS) > 0 ? Number(process.env.HERALD_UPLOAD_LEASE_SECONDS) : 60;
/**
 * How long an upload may stay 'receiving' without a chunk arriving before it
 * expires and frees the campaign's one-upload lock (HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS,
 * default 300): the gateway hands a spooled file over in seconds, so a silence
 * this long means the uploader died mid-transfer.
 */
export const receiveTimeoutSeconds = (env: NodeJS.ProcessEnv = process.env): number =>
  Number(env.HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS) > 0 ? Number(env.HERALD_UPLOAD_RECEIVE_TIMEOUT_SECONDS) : 300;

export const receiveExpiredMessage = (seconds: number) =>
  `the upload stopped arriving: no data for ${seconds} seconds (the uploader stopped or lost its connection mid-transfer); nothing was imported, upload the file again`;

/** The upload is another worker's now (this one's lease ran out): this one books nothing more of it. */
class LeaseLost extends Error {}

/**
 * Processes committed uploads in the background, one at a time per worker.
 * An upload is leased; progress (last row done) is saved after every batch,
 * so a crashed worker's upload is picked up after its lease by any replica
 * and resumes after the last saved row.
 */
export class UploadWorker {
  private readonly id = `ingestion-${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger('UploadWorker');
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private readonly receiveTimeoutSeconds: number;
  private lastExpiryCheck = 0;
  /** When this worker last reported the progress of the upload it is processing (one at a time) to its campaign. */
  private progressReportedAt: number | null = null;

  constructor(
    private readonly pool: Pool, private readonly store: EventStore, private readonly strategies: StrategiesApi,
    options: { receiveTimeoutSeconds?: number } = {},
  ) {
    this.receiveTimeoutSeconds = options.receiveTimeoutSeconds ?? receiveTimeoutSeconds();
  }

  start(): void {
    this.loop = this.run();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let worked = false;
      try {
        await this.expireStalledUploads();
        await this.notifyCampaigns();
        const upload = await this.claim();
        if (upload) {
          worked = true;
          await this.process(upload);
        }
      } catch (error) {
        this.logger.error((error as Error).stack ?? String(error));
      }
      if (!worked) await new Promise<void>((resolve) => { const t = setTimeout(resolve, 250); this.wakeUp = () => { clearTimeout(t); resolve(); }; });
    }
  }

  private async claim(): Promise<UploadRow | null> {
    const { rows } = await this.pool.query<UploadRow>(
      `update ingestion_uploads set state = 'processing', worker = $1, lease_until = now() + make_interval(secs => $2)
       where id = (select id from ingestion_uploads
                   where state = 'queued' or (state = 'processing' and lease_until < now())
                   order by created_at limit 1 for update skip locked)
       returning id, workspace_id, campaign_id, file_name, rows_done`,
      [this.id, LEASE_SECONDS],
    );
    return rows[0] ?? null;
  }

  /**
   * An upload left 'receiving' with no chunk for receiveTimeoutSeconds fails
   * with the reason and loses its chunks; notifyCampaigns then frees the
   * campaign's one-upload lock. A chunk arriving meanwhile (appendUploadChunk
   * moves received_at in the same statement) keeps it alive.
   */
  private async expireStalledUploads(): Promise<void> {
    if (Date.now() - this.lastExpiryCheck < Math.min(5_000, this.receiveTimeoutSeconds * 250)) return;
    this.lastExpiryCheck = Date.now();
    const { rows } = await this.pool.query<{ id: string }>(
      `update ingestion_uploads set state = 'failed', message = $2, finished_at = now()
       where state = 'receiving' and received_at < now() - make_interval(secs => $1) returning id`,
      [this.receiveTimeoutSeconds, receiveExpiredMessage(this.receiveTimeoutSeconds)],
    );
    for (const { id } of rows) {
      this.logger.warn(`upload ${id} expired: no chunk for ${this.receiveTimeoutSeconds} s`);
      await this.pool.query('delete from ingestion_upload_chunks where upload_id = $1', [id]);
    }
  }

  private async process(upload: UploadRow): Promise<void> {
    this.progressReportedAt = null;
    const campaign = rebuild(await this.store.readStream(campaignStreamId(upload.campaign_id)));
    const stages = campaign?.stages.map((s) => s.name) ?? [];
    const ctx: BatchContext = { store: this.store, strategies: this.strategies, workspaceId: upload.workspace_id, campaignId: upload.campaign_id, uploadId: upload.id, stages, campaign };
    let batch: ValidRow[] = [];
    let invalid: RowError[] = [];
    let lastRow = upload.rows_done;
    let read = 0;
    // Two batches in flight: the next batch's Data Load runs while the previous one is appended. Progress is
    // recorded strictly in file order, so a crash resumes after the last batch whose predecessors all landed
    // (a batch re-run after a crash appends nothing twice: event ids derive from upload and row).
    let inflight = null as { done: Promise<void>; keys: Set<string> } | null;
    // Where the next booking starts: the saved progress, then each batch's last row (bookings are fenced on it).
    let booked = upload.rows_done;
    const flush = async () => {
      const rows = batch;
      const bad = invalid;
      const upTo = lastRow;
      const readSoFar = read;
      const from = booked;
      booked = upTo;
      batch = [];
      invalid = [];
      const previous = inflight;
      const keys = new Set(rows.map((r) => rowKey(upload.id, r)));
      // A key of the previous batch must be stored before this batch's strategy sees it as the existing contact.
      if (previous && [...keys].some((k) => previous.keys.has(k))) await previous.done;
      const work = rows.length ? importBatch(ctx, rows) : Promise.resolve({ imported: 0, created: 0, rejected: [], log: [] } as BatchResult);
      const done = (async () => {
        const result = await work;
        await previous?.done;
        await this.record(upload, rows.length, bad, result, from, upTo, readSoFar);
      })();
      done.catch(() => undefined); // awaited below or by the next flush; this only keeps it from being "unhandled"
      inflight = { done, keys };
      if (previous) await previous.done;
    };
    const drain = async () => {
      await flush();
      await inflight?.done;
    };
    const rows = readRows(this.pool, upload.id, upload.file_name);
    try {
      for (;;) {
        let next: IteratorResult<{ row: number; record: Record<string, unknown> }>;
        try {
          next = await rows.next();
        } catch (error) {
          // A malformed file stops at the line it breaks on: the rows before it are imported, the report says why it stopped.
          await drain();
          await this.finish(upload, 'failed', (error as Error).message);
          break;
        }
        if (next.done) {
          await drain();
          await this.finish(upload, 'completed', null);
          break;
        }
        const { row, record } = next.value;
        read += 1;
        if (row <= upload.rows_done) continue;
        const checked = validateRow(row, record);
        if (isRowError(checked)) invalid.push(checked);
        else batch.push(checked);
        lastRow = row;
        // Errors of the platform (database, strategies service) are not the file's fault: they propagate, the
        // lease runs out and the upload resumes after the last saved row.
        if (batch.length + invalid.length >= BATCH) await flush();
        if (this.stopped) {
          await inflight?.done;
          await rows.return(undefined);
          return; // the lease expires and another worker resumes
        }
      }
    } catch (error) {
      await rows.return(undefined).catch(() => undefined);
      if (!(error instanceof LeaseLost)) throw error;
      this.logger.warn(error.message);
      return;
    }
    await this.notifyCampaigns();
  }

  /** The end of the upload, unless another worker has it now. */
  private async finish(upload: UploadRow, state: 'completed' | 'failed', message: string | null): Promise<void> {
    const { rowCount } = await this.pool.query(
      `update ingestion_uploads set state = $2, message = coalesce($3, message), finished_at = now() where id = $1 and worker = $4 and state = 'processing'`,
      [upload.id, state, message, this.id],
    );
    if (!rowCount) throw new LeaseLost(`upload ${upload.id} was taken over by another worker after this one's lease ran out; this one stops`);
  }

  /**
   * Books a finished batch (in file order, see flush): counts, progress and
   * the rejected rows in one transaction, fenced on this worker's lease and on
   * the progress the batch starts from, so a batch is counted once even when
   * a lease ran out and another worker took the upload over. The campaign log
   * and a campaign ERROR come first: after a crash in between, a re-run batch
   * logs again (at least once; reporting ERROR twice changes nothing) but is
   * counted once.
   */
  private async record(upload: UploadRow, size: number, invalid: RowError[], result: BatchResult, from: number, upTo: number, read: number): Promise<void> {
    const rejected = [...invalid, ...result.rejected];
    let created = 0;
    await writeCampaignLog(this.pool, result.log);
    const strategyFailures = result.rejected.filter((r) => r.message.startsWith(STRATEGY_FAILED));
    if (size >= 10 && strategyFailures.length === size) {
      await this.reportCampaignError(upload, `The Data Load strategy failed on every row of a batch of ${size} (first: row ${strategyFailures[0].row}, ${strategyFailures[0].message.slice(STRATEGY_FAILED.length)}). Fix the strategy with Replace file, Force stop, and upload again.`);
    }
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const booked = await client.query<{ created: number }>(
        `update ingestion_uploads set rows_done = $2, rows_read = $3, imported = imported + $4, created = created + $5, rejected = rejected + $6,
         lease_until = now() + make_interval(secs => $7) where id = $1 and worker = $8 and state = 'processing' and rows_done = $9
         returning created`,
        [upload.id, upTo, read, result.imported, result.created, rejected.length, LEASE_SECONDS, this.id, from],
      );
      if (!booked.rowCount) throw new LeaseLost(`upload ${upload.id} was taken over by another worker after this one's lease ran out; this one stops before row ${from + 1}`);
      if (rejected.length) {
        await client.query(
          `insert into ingestion_upload_rejections (upload_id, row, field, message) select $1, * from unnest($2::int[], $3::text[], $4::text[]) on conflict do nothing`,
          [upload.id, rejected.map((r) => r.row), rejected.map((r) => r.field), rejected.map((r) => r.message)],
        );
      }
      await client.query('commit');
      created = booked.rows[0].created;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    await this.reportProgress(upload, created);
  }

  /**
   * Tells the campaign the running total of contacts the upload has created
   * (see PROGRESS_INTERVAL_MS). After the booking: a crash in between only
   * delays the count to the next report or the completion, and a total is
   * never counted twice (the campaign adds the difference to its last one).
   */
  private async reportProgress(upload: UploadRow, created: number): Promise<void> {
    const last = this.progressReportedAt;
    if (created === 0 || (last !== null && Date.now() - last < PROGRESS_INTERVAL_MS)) return;
    this.progressReportedAt = Date.now();
    // Only a report: the completion counts whatever a failed one left out, so the import goes on.
    await executeCommand<CampaignState, CampaignChange>({
      store: this.store,
      streamId: campaignStreamId(upload.campaign_id),
      rebuild,
      decide: (s) => (s ? decide.progressUpload(s, { uploadId: upload.id, created }) : []),
      metadata: { workspaceId: upload.workspace_id, correlationId: upload.id },
    }).catch((error: Error) => this.logger.warn(`upload ${upload.id}: progress not reported to the campaign (${error.message}); its completion counts the contacts`));
  }

  /** A systematic failure the owner must fix: the campaign goes to ERROR (see docs/campaigns.md). */
  private async reportCampaignError(upload: UploadRow, message: string): Promise<void> {
    await executeCommand<CampaignState, CampaignChange>({
      store: this.store,
      streamId: campaignStreamId(upload.campaign_id),
      rebuild,
      decide: (s) => (s ? decide.fail(s, message) : []),
      metadata: { workspaceId: upload.workspace_id, correlationId: upload.id },
    });
  }

  /** Records finished uploads on the campaign stream (frees the one-upload lock, counts contacts); retried until done. */
  private async notifyCampaigns(): Promise<void> {
    const { rows } = await this.pool.query<{ id: string; workspace_id: string; campaign_id: string; rows_read: number; imported: number; created: number; rejected: number }>(
      `select id, workspace_id, campaign_id, rows_read, imported, created, rejected from ingestion_uploads
       where state in ('completed', 'failed') and not campaign_notified limit 20`,
    );
    for (const u of rows) {
      await executeCommand<CampaignState, CampaignChange>({
        store: this.store,
        streamId: campaignStreamId(u.campaign_id),
        rebuild,
        decide: (s) => (s ? decide.completeUpload(s, { uploadId: u.id, rowsRead: u.rows_read, imported: u.imported, created: u.created, rejected: u.rejected }) : []),
        metadata: { workspaceId: u.workspace_id, correlationId: u.id },
      });
      await this.pool.query('update ingestion_uploads set campaign_notified = true where id = $1', [u.id]);
    }
  }
}
