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
  const wake = notifier(options);
  return async function projectSchedulerEvent(recorded: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
    if (recorded.streamId.startsWith('campaign-')) return projectCampaign(recorded as RecordedEvent<CampaignEvent>, client, wake);
    if (recorded.streamId.startsWith('contact-')) return projectContact(recorded as RecordedEvent<ContactEvent>, client, wake);
  };
}

/** The projection without cross-process notifications (tests, the embedded mode). */
export const projectSchedulerEvent = createSchedulerProjection();

type Wake = (client: PoolClient, due: Date) => Promise<void>;

/** NOTIFYs the replicas of a timer due within options.notifyWithinMs (inside the transaction: sent at commit). */
function notifier(options: ProjectionOptions): Wake {
  return async (client, due) => {
    if (options.notifyWithinMs === undefined || due.getTime() > Date.now() + options.notifyWithinMs) return;
    await client.query(`SELECT pg_notify($1, $2)`, [WAKE_CHANNEL, String(due.getTime())]);
  };
}

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
                -- Claimed (marked fired) but not started: that firing meets the moved stream and fails; the timer is back.
                fired = false, claimed_by = NULL, claimed_at = NULL
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

type Delivery = { event: RecordedEvent; topic: string };

/** The order a communication's own events keep in a bulk run: planned, then started, then ended. */
const PHASE: Record<string, number> = { CommunicationPlanned: 1, CommunicationStarted: 2, CommunicationEnded: 3 };
/** Contact events the bulk run does not fold (they read rows or are rare): applied one by one, in place. */
const ONE_BY_ONE = new Set(['ContactDetailsChanged', 'ContactParametersChanged', 'CommunicationCancelled', 'CommunicationUpdated']);

/**
 * A run of consecutive deliveries the bulk statements can apply at once with
 * the rows projectSchedulerEvent would leave: new contacts, planned, started
 * and ended communications, and the contacts' revisions. Phases run in that
 * order, which is each stream's own order as long as no communication's event
 * comes after a later phase of it (then the run is applied and a new one starts).
 */
class BulkRun {
  readonly contacts = new Map<string, Record<string, unknown>>();
  readonly planned: Record<string, unknown>[] = [];
  readonly started: { stream_id: string; communication_id: string; at: string }[] = [];
  readonly ended: string[] = [];
  /** Per stream: its last revision in the run, and that of its last CommunicationEnded (-1: none). */
  readonly revisions = new Map<string, { revision: number; endRevision: number }>();
  private readonly phases = new Map<string, number>();
  private soonest = Infinity;

  get size(): number {
    return this.revisions.size;
  }

  /** Adds the event if the run can take it; false if it must be applied on its own, after the run. */
  add(recorded: RecordedEvent): boolean {
    if (!recorded.streamId.startsWith('contact-') || ONE_BY_ONE.has(recorded.type)) return false;
    const event = recorded as RecordedEvent<ContactEvent>;
    const phase = PHASE[event.type];
    const communicationId = phase ? (event.type === 'CommunicationPlanned' ? event.data.communication.id : (event.data as { communicationId: string }).communicationId) : null;
    if (communicationId !== null && (this.phases.get(communicationId) ?? 0) >= phase) return false;
    if (event.type === 'ContactCreated' && this.contacts.has(event.streamId)) return false;
    const stream = event.streamId;
    const m = event.metadata;
    switch (event.type) {
      case 'ContactCreated': {
        const d = event.data;
        this.contacts.set(stream, {
          stream_id: stream, campaign_id: d.campaignId, workspace_id: m.workspaceId, contact_key: d.key, name: d.name, revision: event.revision,
          email: d.email, phone: d.phone, timezone: timezoneParameter(d.parameters), identities: identitiesOf(d.email, d.phone),
        });
        break;
      }
      case 'CommunicationPlanned': {
        const c = event.data.communication;
        this.planned.push({
          communication_id: c.id, workspace_id: m.workspaceId, campaign_id: campaignIdOf(stream), stream_id: stream, name: c.name, stage_name: c.stageName,
          start_date: c.startDate, end_date: c.endDate, cause_event_id: m.eventId, correlation_id: m.correlationId, traceparent: m.traceparent ?? null,
        });
        this.soonest = Math.min(this.soonest, Date.parse(c.startDate));
        break;
      }
      case 'CommunicationStarted':
        this.started.push({ stream_id: stream, communication_id: event.data.communicationId, at: event.data.startedAt });
        break;
      case 'CommunicationEnded':
        this.ended.push(event.data.communicationId);
        break;
      default:
        break;
    }
    if (communicationId !== null) this.phases.set(communicationId, phase);
    const seen = this.revisions.get(stream);
    this.revisions.set(stream, {
      revision: Math.max(seen?.revision ?? -1, event.revision),
      endRevision: event.type === 'CommunicationEnded' ? event.revision : seen?.endRevision ?? -1,
    });
    return true;
  }

  async apply(client: PoolClient, wake: Wake): Promise<void> {
    if (this.contacts.size) {
      await client.query(
        `INSERT INTO scheduler_contacts (stream_id, campaign_id, workspace_id, contact_key, name, revision, email, phone, timezone, identities)
         SELECT t.stream_id, t.campaign_id, t.workspace_id, t.contact_key, t.name, t.revision, t.email, t.phone, t.timezone,
                ARRAY(SELECT jsonb_array_elements_text(t.identities))
           FROM jsonb_to_recordset($1::jsonb) AS t(stream_id text, campaign_id text, workspace_id text, contact_key text, name text, revision integer,
                email text, phone text, timezone text, identities jsonb)
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision`,
        [JSON.stringify([...this.contacts.values()])],
      );
    }
    if (this.planned.length) {
      await client.query(
        `WITH t AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(communication_id text, workspace_id text, campaign_id text, stream_id text, name text,
                     stage_name text, start_date timestamptz, end_date timestamptz, cause_event_id text, correlation_id text, traceparent text)),
         ins AS (
           INSERT INTO scheduler_communications
             (communication_id, workspace_id, campaign_id, stream_id, name, stage_name, start_date, end_date, status, due_at, cause_event_id, correlation_id, traceparent)
           SELECT communication_id, workspace_id, campaign_id, stream_id, name, stage_name, start_date, end_date, 'PLANNED', start_date, cause_event_id, correlation_id, traceparent
             FROM t
           ON CONFLICT DO NOTHING)
         INSERT INTO scheduler_campaigns (campaign_id, workspace_id, communicated)
         SELECT DISTINCT ON (campaign_id) campaign_id, workspace_id, true FROM t
          WHERE NOT EXISTS (SELECT 1 FROM scheduler_campaigns c WHERE c.campaign_id = t.campaign_id AND c.communicated)
         ON CONFLICT (campaign_id) DO UPDATE SET communicated = true`,
        [JSON.stringify(this.planned)],
      );
    }
    if (this.started.length) {
      // The start counts for the frequency cap from now on, whoever fired it.
      await client.query(
        `WITH s AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(stream_id text, communication_id text, at timestamptz)),
         u AS (UPDATE scheduler_communications c SET status = 'STARTED', fired = true, claimed_by = NULL, claimed_at = NULL
                 FROM s WHERE c.communication_id = s.communication_id RETURNING 1)
         INSERT INTO scheduler_starts (communication_id, identity, workspace_id, at, confirmed)
         SELECT s.communication_id, i, c.workspace_id, s.at, true FROM s JOIN scheduler_contacts c ON c.stream_id = s.stream_id, unnest(c.identities) i
         ON CONFLICT (communication_id, identity) DO UPDATE SET confirmed = true, at = EXCLUDED.at`,
        [JSON.stringify(this.started)],
      );
    }
    if (this.ended.length) {
      await client.query(
        `WITH e AS (SELECT unnest($1::text[]) AS id),
         released AS (DELETE FROM scheduler_starts s USING e WHERE s.communication_id = e.id AND NOT s.confirmed RETURNING 1)
         DELETE FROM scheduler_communications c USING e WHERE c.communication_id = e.id`,
        [this.ended],
      );
    }
    if (this.revisions.size) {
      const streams = [...this.revisions.keys()].sort();
      await client.query(
        `UPDATE scheduler_contacts c SET revision = t.r, last_end_revision = CASE WHEN t.e >= 0 THEN t.e ELSE c.last_end_revision END
           FROM unnest($1::text[], $2::int[], $3::int[]) AS t(s, r, e) WHERE c.stream_id = t.s`,
        [streams, streams.map((s) => this.revisions.get(s)!.revision), streams.map((s) => this.revisions.get(s)!.endRevision)],
      );
    }
    if (this.soonest < Infinity) await wake(client, new Date(this.soonest));
  }
}

/**
 * The scheduler projection for a batch of deliveries (idempotentBatchProjection's
 * projectMany): the same rows as createSchedulerProjection's function on each
 * event in turn, in five statements for the common run (an upload's
 * contacts, their starts and ends) instead of one or two per event. Campaign
 * events and the contact events that read rows before they write go one by
 * one, in their place in the batch.
 */
export function createSchedulerProjectionMany(options: ProjectionOptions = {}) {
  const one = createSchedulerProjection(options);
  const wake = notifier(options);
  return async function projectSchedulerMany(items: readonly Delivery[], client: PoolClient): Promise<void> {
    let run = new BulkRun();
    for (const { event, topic } of items) {
      if (run.add(event)) continue;
      if (run.size) {
        await run.apply(client, wake);
        run = new BulkRun();
        if (run.add(event)) continue;
      }
      await one(event, topic, client);
    }
    if (run.size) await run.apply(client, wake);
  };
}

/** The batch projection without cross-process notifications (tests, the embedded mode). */
export const projectSchedulerMany = createSchedulerProjectionMany();
