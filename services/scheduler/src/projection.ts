import type { PoolClient } from 'pg';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { JsonObject, RecordedEvent } from '@herald/contracts';
import type { ContactEvent } from '@herald/contact-model';
import type { CampaignEvent } from '@herald/campaign-model';
import { timezoneParameter } from './rules/contact-zones';
import { WAKE_CHANNEL } from './schema';

/** Statuses that keep a communication open (the campaign is not FINISHED while one exists). */
const OPEN = new Set(['PLANNED', 'STARTED']);

/** How a person is recognised across campaigns for the frequency cap: lower-cased email, E.164 phone. */
export function identitiesOf(email: string | null | undefined, phone: string | null | undefined): string[] {
  const ids: string[] = [];
  if (email && email.trim()) ids.push(`e:${email.trim().toLowerCase()}`);
  if (phone && phone.trim()) {
    const parsed = parsePhoneNumberFromString(phone.trim());
    ids.push(`p:${parsed?.number ?? phone.replace(/[^\d+]/g, '')}`);
  }
  return ids;
}

/** `contact-<campaignId>-<key>`; campaign ids are UUIDs (36 characters). */
export function campaignIdOf(streamId: string): string {
  return streamId.slice('contact-'.length, 'contact-'.length + 36);
}

export interface ProjectionOptions {
  /**
   * Distributed mode: NOTIFY the other replicas when a timer becomes due
   * within this many ms (their loops may sleep up to that long). Off in the
   * embedded mode, where the consumer wakes the one loop in process.
   */
  notifyWithinMs?: number;
}

/**
 * Keeps the scheduler's tables in step with the events. Runs inside the
 * consumer's transaction (idempotentProjection), so a redelivered event
 * changes nothing; it uses only the given client. Statements stay unnamed:
 * the embedded database (PGlite) has one backend behind every connection,
 * where named prepared statements of two connections would collide.
 */
export function createSchedulerProjection(options: ProjectionOptions = {}) {
  const wake = async (client: PoolClient, due: Date) => {
    if (options.notifyWithinMs === undefined || due.getTime() > Date.now() + options.notifyWithinMs) return;
    await client.query(`SELECT pg_notify($1, $2)`, [WAKE_CHANNEL, String(due.getTime())]);
  };
  return async function projectSchedulerEvent(recorded: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
    if (recorded.streamId.startsWith('campaign-')) return projectCampaign(recorded as RecordedEvent<CampaignEvent>, client, wake);
    if (recorded.streamId.startsWith('contact-')) return projectContact(recorded as RecordedEvent<ContactEvent>, client, wake);
  };
}

/** The projection without cross-process notifications (tests, the embedded mode). */
export const projectSchedulerEvent = createSchedulerProjection();

type Wake = (client: PoolClient, due: Date) => Promise<void>;

async function projectCampaign(event: RecordedEvent<CampaignEvent>, client: PoolClient, wake: Wake): Promise<void> {
  const campaignId = event.streamId.slice('campaign-'.length);
  const ws = event.metadata.workspaceId;
  const upsert = (set: string) => client.query(
    `INSERT INTO scheduler_campaigns (campaign_id, workspace_id) VALUES ($1, $2)
     ON CONFLICT (campaign_id) DO UPDATE SET ${set}`, [campaignId, ws]);
  switch (event.type) {
    case 'CampaignCreated':
      await client.query(`INSERT INTO scheduler_campaigns (campaign_id, workspace_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [campaignId, ws]);
      return;
    case 'CampaignStarted':
      await client.query(
        `INSERT INTO scheduler_campaigns (campaign_id, workspace_id, running) VALUES ($1, $2, true)
         ON CONFLICT (campaign_id) DO UPDATE SET running = true`, [campaignId, ws]);
      await wake(client, new Date(0));
      return;
    case 'CampaignStopped':
    case 'CampaignFinished':
    case 'CampaignDeleted':
    case 'CampaignFailed':
    case 'CampaignForceStopped':
      await upsert('running = false');
      return;
    case 'ContactsUploadStarted':
      await upsert('active_upload = true');
      return;
    case 'ContactsUploadCompleted':
      await upsert('active_upload = false');
      return;
    default:
      return;
  }
}

/** Removes an open communication (and the cap reservation of one that never started). */
const CLOSE = (endRevision: boolean) => `
  WITH c AS (UPDATE scheduler_contacts SET revision = $2${endRevision ? ', last_end_revision = $2' : ''} WHERE stream_id = $1 RETURNING 1),
  released AS (DELETE FROM scheduler_starts WHERE communication_id = $3 AND NOT confirmed RETURNING 1)
  DELETE FROM scheduler_communications WHERE communication_id = $3`;

async function projectContact(event: RecordedEvent<ContactEvent>, client: PoolClient, wake: Wake): Promise<void> {
  const stream = event.streamId;
  const rev = event.revision;
  const bump = () => client.query(`UPDATE scheduler_contacts SET revision = $2 WHERE stream_id = $1`, [stream, rev]);
  switch (event.type) {
    case 'ContactCreated': {
      const d = event.data;
      await client.query({ text:
        `INSERT INTO scheduler_contacts (stream_id, campaign_id, workspace_id, contact_key, name, revision, email, phone, timezone, identities)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision`,
        values: [stream, d.campaignId, event.metadata.workspaceId, d.key, d.name, rev, d.email, d.phone, timezoneParameter(d.parameters), identitiesOf(d.email, d.phone)],
      });
      return;
    }
    case 'ContactDetailsChanged': {
      const d = event.data;
      const { rows } = await client.query<{ email: string | null; phone: string | null }>(
        `UPDATE scheduler_contacts SET revision = $2,
                name = CASE WHEN $3 THEN $4 ELSE name END,
                email = CASE WHEN $5 THEN $6 ELSE email END,
                phone = CASE WHEN $7 THEN $8 ELSE phone END
          WHERE stream_id = $1 RETURNING email, phone`,
        [stream, rev, 'name' in d, d.name ?? null, 'email' in d, d.email ?? null, 'phone' in d, d.phone ?? null],
      );
      if (rows.length) await client.query(`UPDATE scheduler_contacts SET identities = $2 WHERE stream_id = $1`, [stream, identitiesOf(rows[0].email, rows[0].phone)]);
      return;
    }
    case 'ContactParametersChanged':
      await client.query(`UPDATE scheduler_contacts SET revision = $2, timezone = $3 WHERE stream_id = $1`, [stream, rev, timezoneParameter(event.data.parameters as JsonObject)]);
      return;
    case 'CommunicationPlanned': {
      const c = event.data.communication;
      const campaignId = campaignIdOf(stream);
      const m = event.metadata;
      await client.query({ text:
        `WITH c AS (UPDATE scheduler_contacts SET revision = $2 WHERE stream_id = $1 RETURNING 1),
         ins AS (
           INSERT INTO scheduler_communications
             (communication_id, workspace_id, campaign_id, stream_id, name, stage_name, start_date, end_date, status, due_at, cause_event_id, correlation_id, traceparent)
           VALUES ($3, $4, $5, $1, $6, $7, $8, $9, 'PLANNED', $8, $10, $11, $12)
           ON CONFLICT DO NOTHING)
         INSERT INTO scheduler_campaigns (campaign_id, workspace_id, communicated)
         SELECT $5, $4, true WHERE NOT EXISTS (SELECT 1 FROM scheduler_campaigns WHERE campaign_id = $5 AND communicated)
         ON CONFLICT (campaign_id) DO UPDATE SET communicated = true`,
        values: [stream, rev, c.id, m.workspaceId, campaignId, c.name, c.stageName, c.startDate, c.endDate, m.eventId, m.correlationId, m.traceparent ?? null],
      });
      await wake(client, new Date(c.startDate));
      return;
    }
    case 'CommunicationCancelled':
      await client.query({ text: CLOSE(false), values: [stream, rev, event.data.communicationId] });
      return;
    case 'CommunicationEnded':
      await client.query({ text: CLOSE(true), values: [stream, rev, event.data.communicationId] });
      return;
    case 'CommunicationStarted': {
      const d = event.data;
      // The start counts for the frequency cap from now on, whoever fired it.
      await client.query({ text:
        `WITH c AS (UPDATE scheduler_contacts SET revision = $2 WHERE stream_id = $1 RETURNING identities, workspace_id),
         u AS (UPDATE scheduler_communications SET status = 'STARTED', fired = true, claimed_by = NULL, claimed_at = NULL WHERE communication_id = $3 RETURNING 1)
         INSERT INTO scheduler_starts (communication_id, identity, workspace_id, at, confirmed)
         SELECT $3, i, c.workspace_id, $4, true FROM c, unnest(c.identities) i
         ON CONFLICT (communication_id, identity) DO UPDATE SET confirmed = true, at = EXCLUDED.at`,
        values: [stream, rev, d.communicationId, d.startedAt],
      });
      return;
    }
    case 'CommunicationUpdated': {
      const { communicationId, changes } = event.data;
      if (changes.status !== undefined && !OPEN.has(changes.status)) {
        await client.query(CLOSE(false), [stream, rev, communicationId]);
        return;
      }
      if (changes.status === 'STARTED') {
        await client.query(`UPDATE scheduler_communications SET status = 'STARTED', fired = true WHERE communication_id = $1`, [communicationId]);
      }
      // A communication set back to PLANNED after it ended is not fired again: firing happens once per id.
      const { rows } = await client.query<{ start_date: Date }>(
        `UPDATE scheduler_communications
            SET start_date = COALESCE($2::timestamptz, start_date),
                end_date = CASE WHEN $3 THEN $4::timestamptz ELSE end_date END,
                stage_name = COALESCE($5, stage_name),
                name = COALESCE($6, name),
                due_at = COALESCE($2::timestamptz, start_date),
                claimed_by = NULL, claimed_at = NULL
          WHERE communication_id = $1 AND status = 'PLANNED' AND ($2::timestamptz IS NOT NULL OR $3 OR $5::text IS NOT NULL OR $6::text IS NOT NULL)
          RETURNING start_date`,
        [communicationId, changes.startDate ?? null, changes.endDate !== undefined, changes.endDate ?? null, changes.stageName ?? null, changes.name ?? null],
      );
      await bump();
      if (rows.length) await wake(client, rows[0].start_date);
      return;
    }
    default:
      await bump();
      return;
  }
}
