import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import {
  campaignStreamId, contactStreamId, invalid, notFound, precondition, STRATEGIES_API,
  type ContactState, type ContactSummary, ContactPage, type IngestionApi, type StrategiesApi, type UploadView,
} from '@herald/contracts';
import { executeCommand, type EventStore } from '@herald/event-store';
import { decide, rebuild as rebuildCampaign, type CampaignChange, type CampaignState } from '@herald/campaign-model';
import { rebuild as rebuildContact } from '@herald/contact-model';
import { EVENT_STORE, PG_POOL, secureTenantTables, tenantQuery } from '@herald/service-defaults';
import { INGESTION_SCHEMA } from './uploads/schema';
import { UploadWorker } from './uploads/upload-worker';
import { listContacts } from './contact-list/contact-list';

const MAX_CHUNK = 4 * 1024 * 1024;

@Injectable()
export class IngestionService implements IngestionApi, OnApplicationBootstrap, OnApplicationShutdown {
  private worker: UploadWorker | null = null;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(STRATEGIES_API) private readonly strategies: StrategiesApi,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.pool.query(INGESTION_SCHEMA);
    await secureTenantTables(this.pool);
    this.worker = new UploadWorker(this.pool, this.store, this.strategies);
    this.worker.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.stop();
  }

  async beginUpload(workspaceId: string, campaignId: string, fileName: string): Promise<UploadView> {
    if (!fileName || !/\.(csv|json|jsonl|ndjson)$/i.test(fileName)) throw invalid('file', 'must be a .csv, .json or .jsonl file');
    const uploadId = randomUUID();
    // The campaign stream is the lock: one upload at a time per campaign, by optimistic concurrency.
    await executeCommand<CampaignState, CampaignChange>({
      store: this.store,
      streamId: campaignStreamId(campaignId),
      rebuild: rebuildCampaign,
      decide: (s) => {
        if (!s || s.workspaceId !== workspaceId) throw notFound(`campaign ${campaignId}`);
        return decide.startUpload(s, { uploadId, fileName });
      },
      metadata: { workspaceId, correlationId: uploadId },
    });
    await this.pool.query(
      `insert into ingestion_uploads (id, workspace_id, campaign_id, file_name, state) values ($1, $2, $3, $4, 'receiving')`,
      [uploadId, workspaceId, campaignId, fileName],
    );
    return this.view(workspaceId, uploadId);
  }

  async appendUploadChunk(workspaceId: string, uploadId: string, seq: number, data: Buffer): Promise<void> {
    if (data.length > MAX_CHUNK) throw invalid('data', `a chunk is at most ${MAX_CHUNK} bytes`);
    // One statement: the upload is still receiving (not expired meanwhile), its last progress moves, the chunk is stored.
    const { rows } = await this.pool.query<{ n: number }>(
      `with touched as (update ingestion_uploads set received_at = now() where id = $1 and workspace_id = $2 and state = 'receiving' returning id),
            stored as (insert into ingestion_upload_chunks (upload_id, seq, data) select id, $3, $4 from touched on conflict do nothing)
       select count(*)::int as n from touched`,
      [uploadId, workspaceId, seq, data],
    );
    if (rows[0].n === 0) {
      const upload = await this.row(workspaceId, uploadId);
      throw precondition(`upload ${uploadId} is ${upload.state}, not receiving${upload.message ? `: ${upload.message}` : ''}`);
    }
  }

  async commitUpload(workspaceId: string, uploadId: string): Promise<UploadView> {
    await this.row(workspaceId, uploadId);
    const { rowCount } = await this.pool.query(`update ingestion_uploads set state = 'queued' where id = $1 and state = 'receiving'`, [uploadId]);
    this.worker?.wake();
    if (!rowCount) {
      // Expired while it was arriving (or aborted), so never queued (no worker had it): not accepted, and the uploader must hear it.
      const upload = await this.row(workspaceId, uploadId);
      if (upload.state === 'failed' && !upload.worker) throw precondition(`upload ${uploadId} was not accepted: ${upload.message ?? 'it failed'}`);
    }
    return this.view(workspaceId, uploadId);
  }

  async abortUpload(workspaceId: string, uploadId: string, reason: string): Promise<UploadView> {
    await this.row(workspaceId, uploadId);
    await this.pool.query(`update ingestion_uploads set state = 'failed', message = $2, finished_at = now() where id = $1 and state = 'receiving'`, [uploadId, reason]);
    await this.pool.query('delete from ingestion_upload_chunks where upload_id = $1', [uploadId]);
    this.worker?.wake();
    return this.view(workspaceId, uploadId);
  }

  async getUpload(workspaceId: string, campaignId: string, uploadId: string): Promise<UploadView> {
    const view = await this.view(workspaceId, uploadId);
    if (view.campaignId !== campaignId) throw notFound(`upload ${uploadId}`);
    return view;
  }

  async getContact(workspaceId: string, campaignId: string, contactKey: string): Promise<ContactState> {
    const events = await this.store.readStream(contactStreamId(campaignId, contactKey));
    const state = rebuildContact(events);
    if (!state || events[0].metadata.workspaceId !== workspaceId) throw notFound(`contact ${contactKey}`);
    return state;
  }

  async listContacts(workspaceId: string, campaignId: string, page: ContactPage): Promise<{ items: ContactSummary[]; next: string | null }> {
    // An empty list would tell another workspace's caller that the campaign exists: it is not found, like any other of its ids.
    const campaign = rebuildCampaign(await this.store.readStream(campaignStreamId(campaignId)));
    if (!campaign || campaign.workspaceId !== workspaceId || campaign.deleted) throw notFound(`campaign ${campaignId}`);
    return listContacts(this.pool, workspaceId, campaignId, page);
  }

  private async row(workspaceId: string, uploadId: string) {
    const { rows } = await tenantQuery(this.pool, workspaceId, 'select * from ingestion_uploads where id = $1 and workspace_id = $2', [uploadId, workspaceId]);
    if (!rows.length) throw notFound(`upload ${uploadId}`);
    return rows[0];
  }

  private async view(workspaceId: string, uploadId: string): Promise<UploadView> {
    const u = await this.row(workspaceId, uploadId);
    const { rows: errors } = await tenantQuery(this.pool, workspaceId, 'select row, field, message from ingestion_upload_rejections where upload_id = $1 order by row limit 1000', [uploadId]);
    return {
      id: u.id, campaignId: u.campaign_id, fileName: u.file_name, state: u.state, rowsRead: u.rows_read, imported: u.imported, rejected: u.rejected,
      errors: errors.map((e) => ({ row: e.row, field: e.field, message: e.message })), message: u.message,
      createdAt: new Date(u.created_at).toISOString(), finishedAt: u.finished_at ? new Date(u.finished_at).toISOString() : null,
    };
  }
}
