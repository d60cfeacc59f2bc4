import type { Pool } from 'pg';
import { secureTenantTables } from '@herald/service-defaults';

/** Channel of the wake-up notifications between scheduler replicas (distributed mode). */
export const WAKE_CHANNEL = 'herald_scheduler_wake';

/**
 * The scheduler's own tables, all kept by its projection of the events
 * except the claim columns, the send-time records and the policies.
 *
 * - scheduler_campaigns: running or not, an upload active, whether it ever planned a communication.
 * - scheduler_contacts: what firing needs of a contact (revision, zone, email, phone).
 * - scheduler_communications: one row per open (PLANNED or STARTED) communication, so a
 *   campaign without rows has nothing left (FINISHED); the PLANNED rows not yet fired are
 *   the durable timers. Claiming a timer marks it fired (claimed_by, claimed_at): the
 *   projection clears the claim when it sees the start or end, and a claim older than the
 *   timeout is a dead replica's, taken over. No per-campaign counter: a row every event updates would
 *   serialise the consumers.
 * - scheduler_starts: starts per person (email, phone) for the frequency cap.
 * - scheduler_rate_buckets: one token bucket per workspace and channel.
 * - scheduler_policies: a workspace's frequency cap and rate limits.
 */
export const SCHEDULER_SCHEMA = `
CREATE TABLE IF NOT EXISTS scheduler_campaigns (
  campaign_id     text PRIMARY KEY,
  workspace_id    text NOT NULL,
  running         boolean NOT NULL DEFAULT false,
  active_upload   boolean NOT NULL DEFAULT false,
  communicated    boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS scheduler_contacts (
  stream_id         text PRIMARY KEY,
  campaign_id       text NOT NULL,
  workspace_id      text NOT NULL,
  contact_key       text NOT NULL,
  name              text,
  revision          integer NOT NULL,
  email             text,
  phone             text,
  timezone          text,
  identities        text[] NOT NULL DEFAULT '{}',
  last_end_revision integer NOT NULL DEFAULT -1
);
CREATE INDEX IF NOT EXISTS scheduler_contacts_campaign ON scheduler_contacts (campaign_id);
CREATE TABLE IF NOT EXISTS scheduler_communications (
  communication_id text PRIMARY KEY,
  workspace_id     text NOT NULL,
  campaign_id      text NOT NULL,
  stream_id        text NOT NULL,
  name             text NOT NULL,
  stage_name       text NOT NULL,
  start_date       timestamptz NOT NULL,
  end_date         timestamptz,
  status           text NOT NULL,
  due_at           timestamptz NOT NULL,
  fired            boolean NOT NULL DEFAULT false,
  claimed_by       text,
  claimed_at       timestamptz,
  cause_event_id   text NOT NULL,
  correlation_id   text NOT NULL,
  traceparent      text
);
CREATE INDEX IF NOT EXISTS scheduler_communications_timers ON scheduler_communications (campaign_id, due_at) WHERE status = 'PLANNED' AND NOT fired;
CREATE INDEX IF NOT EXISTS scheduler_communications_campaign ON scheduler_communications (campaign_id);
-- Claims: fired but not yet seen started or ended by the projection; an old one is a dead replica's.
CREATE INDEX IF NOT EXISTS scheduler_communications_claims ON scheduler_communications (claimed_at) WHERE status = 'PLANNED' AND fired;
CREATE TABLE IF NOT EXISTS scheduler_starts (
  communication_id text NOT NULL,
  identity         text NOT NULL,
  workspace_id     text NOT NULL,
  at               timestamptz NOT NULL,
  confirmed        boolean NOT NULL,
  PRIMARY KEY (communication_id, identity)
);
CREATE INDEX IF NOT EXISTS scheduler_starts_identity ON scheduler_starts (workspace_id, identity, at);
CREATE TABLE IF NOT EXISTS scheduler_rate_buckets (
  workspace_id text NOT NULL,
  channel      text NOT NULL,
  tokens       double precision NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, channel)
);
CREATE TABLE IF NOT EXISTS scheduler_policies (
  workspace_id text PRIMARY KEY,
  policy       jsonb NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
`;

/** Creates the tables when missing; replicas starting together are serialised by an advisory lock. */
export async function ensureSchedulerSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('herald_scheduler_schema'))`);
    await client.query(SCHEDULER_SCHEMA);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  await secureTenantTables(pool);
}
