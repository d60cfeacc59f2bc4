import type { Pool } from 'pg';
import type { JsonObject, SessionQuery, SessionView } from '@herald/contracts';
import { notFound } from '@herald/contracts';
import { tenantQuery } from '@herald/service-defaults';

export const SESSIONS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dispatch_sessions (
    session_id       text PRIMARY KEY,
    workspace_id     text NOT NULL,
    communication_id text NOT NULL UNIQUE,
    campaign_id      text NOT NULL,
    contact_key      text NOT NULL,
    stream_id        text NOT NULL,
    channel          text NOT NULL,
    integration      text,
    agent            text,
    state            text,
    address          text,
    thread           jsonb NOT NULL DEFAULT '{}',
    results          jsonb NOT NULL DEFAULT '{}',
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closing', 'closed')),
    timeout_seconds  integer NOT NULL,
    last_activity    timestamptz NOT NULL DEFAULT now(),
    deadline         timestamptz NOT NULL,
    end_reason       text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    claimed_at       timestamptz
  );
  CREATE INDEX IF NOT EXISTS dispatch_sessions_route ON dispatch_sessions (workspace_id, channel, address) WHERE status <> 'closed';
  CREATE INDEX IF NOT EXISTS dispatch_sessions_due ON dispatch_sessions (deadline) WHERE status <> 'closed';
  CREATE TABLE IF NOT EXISTS dispatch_session_messages (
    session_id  text NOT NULL,
    message_id  text NOT NULL,
    role        text NOT NULL,
    content     text NOT NULL,
    created_at  timestamptz NOT NULL,
    position    bigint NOT NULL,
    PRIMARY KEY (session_id, message_id)
  );
  CREATE TABLE IF NOT EXISTS dispatch_provider_messages (
    workspace_id        text NOT NULL,
    integration         text NOT NULL,
    provider_message_id text NOT NULL,
    session_id          text NOT NULL,
    PRIMARY KEY (workspace_id, integration, provider_message_id)
  );
  CREATE TABLE IF NOT EXISTS dispatch_opt_outs (
    workspace_id text NOT NULL,
    channel      text NOT NULL,
    address      text NOT NULL,
    keyword      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, channel, address)
  )`;

export interface SessionRecord {
  readonly sessionId: string;
  readonly workspaceId: string;
  readonly communicationId: string;
  readonly campaignId: string;
  readonly contactKey: string;
  readonly streamId: string;
  readonly channel: string;
  readonly integration: string | null;
  readonly agent: string | null;
  readonly state: string | null;
  readonly address: string | null;
  readonly thread: JsonObject;
  readonly results: JsonObject;
  readonly status: 'open' | 'closing' | 'closed';
  readonly timeoutSeconds: number;
  readonly lastActivity: Date;
  readonly deadline: Date;
  readonly startedAt: Date;
}

export type NewSession = Pick<SessionRecord, 'sessionId' | 'workspaceId' | 'communicationId' | 'campaignId' | 'contactKey' | 'streamId' | 'channel' | 'integration' | 'agent' | 'state' | 'address' | 'timeoutSeconds'>;

const COLUMNS = `session_id, workspace_id, communication_id, campaign_id, contact_key, stream_id, channel, integration, agent, state, address, thread, results,
  status, timeout_seconds, last_activity, deadline, started_at, ended_at, end_reason`;

/**
 * The sessions dispatch keeps open: who the contact is on the channel (the
 * route inbound messages take), the agent's workflow state, the silence
 * deadline. The transcript is a read model of SessionMessageAdded events.
 */
export class SessionStore {
  constructor(private readonly pool: Pool) {}

  /** Creates the session once (a redelivered start finds it). */
  async open(s: NewSession): Promise<SessionRecord> {
    await this.pool.query(
      `INSERT INTO dispatch_sessions (session_id, workspace_id, communication_id, campaign_id, contact_key, stream_id, channel, integration, agent, state, address, timeout_seconds, deadline)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::int, now() + make_interval(secs => $12::int)) ON CONFLICT DO NOTHING`,
      [s.sessionId, s.workspaceId, s.communicationId, s.campaignId, s.contactKey, s.streamId, s.channel, s.integration, s.agent, s.state, s.address, s.timeoutSeconds],
    );
    return (await this.get(s.sessionId))!;
  }

  /** open() for many sessions in one statement (and one read of what they are now). */
  async openMany(sessions: readonly NewSession[]): Promise<Map<string, SessionRecord>> {
    if (!sessions.length) return new Map();
    const col = <K extends keyof NewSession>(k: K) => sessions.map((x) => x[k]);
    await this.pool.query(
      `INSERT INTO dispatch_sessions (session_id, workspace_id, communication_id, campaign_id, contact_key, stream_id, channel, integration, agent, state, address, timeout_seconds, deadline)
       SELECT s.*, now() + make_interval(secs => s.t) FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[])
         AS s(id, ws, comm, campaign, contact, stream, channel, integration, agent, state, address, t)
       ON CONFLICT DO NOTHING`,
      [col('sessionId'), col('workspaceId'), col('communicationId'), col('campaignId'), col('contactKey'), col('streamId'), col('channel'), col('integration'), col('agent'), col('state'), col('address'), col('timeoutSeconds')],
    );
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM dispatch_sessions WHERE session_id = ANY($1::text[])`, [col('sessionId')]);
    return new Map(rows.map((r) => [r.session_id as string, toRecord(r)]));
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM dispatch_sessions WHERE session_id = $1`, [sessionId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async byCommunication(communicationId: string): Promise<SessionRecord | null> {
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM dispatch_sessions WHERE communication_id = $1`, [communicationId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The newest session still open for this address on this channel of the workspace (where a reply belongs). */
  async openFor(workspaceId: string, channel: string | readonly string[], address: string): Promise<SessionRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM dispatch_sessions WHERE workspace_id = $1 AND channel = ANY($2::text[]) AND address = $3 AND status = 'open'
       ORDER BY started_at DESC LIMIT 1`,
      [workspaceId, typeof channel === 'string' ? [channel] : channel, address],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async update(sessionId: string, changes: { state?: string | null; thread?: JsonObject; results?: JsonObject; address?: string | null }): Promise<void> {
    await this.pool.query(
      `UPDATE dispatch_sessions SET state = CASE WHEN $2 THEN $3 ELSE state END, thread = thread || $4::jsonb, results = results || $5::jsonb,
         address = CASE WHEN $6 THEN $7 ELSE address END WHERE session_id = $1`,
      [sessionId, 'state' in changes, changes.state ?? null, JSON.stringify(changes.thread ?? {}), JSON.stringify(changes.results ?? {}), 'address' in changes, changes.address ?? null],
    );
  }

  /** What the channel answered when the conversation opened, for many sessions at once: its thread data, the contact's address on it, the provider's message id. */
  async openedMany(items: readonly { sessionId: string; workspaceId: string; thread: JsonObject; address: string | null; integration: string | null; providerMessageId: string | null }[]): Promise<void> {
    if (!items.length) return;
    await this.pool.query(
      `UPDATE dispatch_sessions d SET thread = d.thread || u.thread::jsonb, address = coalesce(u.address, d.address)
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, thread, address) WHERE d.session_id = u.id`,
      [items.map((i) => i.sessionId), items.map((i) => JSON.stringify(i.thread)), items.map((i) => i.address)],
    );
    const remembered = items.filter((i) => i.integration && i.providerMessageId);
    if (remembered.length) {
      await this.pool.query(
        `INSERT INTO dispatch_provider_messages (workspace_id, integration, provider_message_id, session_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
        [remembered.map((i) => i.workspaceId), remembered.map((i) => i.integration), remembered.map((i) => i.providerMessageId), remembered.map((i) => i.sessionId)],
      );
    }
  }

  /** A message moves the silence deadline. */
  async touch(sessionId: string): Promise<void> {
    await this.pool.query(
      `UPDATE dispatch_sessions SET last_activity = now(), deadline = greatest(deadline, now() + make_interval(secs => timeout_seconds)) WHERE session_id = $1 AND status = 'open'`,
      [sessionId],
    );
  }

  async extend(sessionId: string, deadline: Date): Promise<void> {
    await this.pool.query(`UPDATE dispatch_sessions SET deadline = $2, status = 'open', claimed_at = NULL WHERE session_id = $1 AND status <> 'closed'`, [sessionId, deadline]);
  }

  /** Claims sessions whose deadline passed (one statement: safe across replicas, no transaction held); a claim older than a minute is taken over. */
  async claimDue(limit: number): Promise<SessionRecord[]> {
    const { rows } = await this.pool.query(
      `UPDATE dispatch_sessions SET status = 'closing', claimed_at = now() WHERE session_id IN (
         SELECT session_id FROM dispatch_sessions
         WHERE (status = 'open' AND deadline <= now()) OR (status = 'closing' AND claimed_at < now() - interval '60 seconds')
         ORDER BY deadline LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${COLUMNS}`,
      [limit],
    );
    return rows.map(toRecord);
  }

  /** Claims one session for ending; false when someone else ended or is ending it. */
  async claimForEnd(sessionId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE dispatch_sessions SET status = 'closing', claimed_at = now() WHERE session_id = $1 AND status = 'open'`, [sessionId]);
    return rowCount === 1;
  }

  async close(sessionId: string, reason: string): Promise<void> {
    await this.pool.query(`UPDATE dispatch_sessions SET status = 'closed', end_reason = $2, ended_at = now() WHERE session_id = $1 AND status <> 'closed'`, [sessionId, reason]);
  }

  async nextDeadline(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ d: Date | null }>(`SELECT min(deadline) AS d FROM dispatch_sessions WHERE status = 'open'`);
    return rows[0]?.d ?? null;
  }

  async rememberProviderMessage(workspaceId: string, integration: string, providerMessageId: string, sessionId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO dispatch_provider_messages (workspace_id, integration, provider_message_id, session_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [workspaceId, integration, providerMessageId, sessionId],
    );
  }

  async byProviderMessage(workspaceId: string, integration: string, providerMessageId: string): Promise<SessionRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS.split(',').map((c) => `s.${c.trim()}`).join(', ')} FROM dispatch_provider_messages m JOIN dispatch_sessions s ON s.session_id = m.session_id
       WHERE m.workspace_id = $1 AND m.integration = $2 AND m.provider_message_id = $3`,
      [workspaceId, integration, providerMessageId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async view(workspaceId: string, sessionId: string): Promise<SessionView> {
    const { rows } = await tenantQuery(this.pool, workspaceId, `SELECT ${COLUMNS} FROM dispatch_sessions WHERE session_id = $1 AND workspace_id = $2`, [sessionId, workspaceId]);
    if (!rows[0]) throw notFound(`session "${sessionId}"`);
    const [withMessages] = await this.withMessages([rows[0]]);
    return withMessages;
  }

  async list(workspaceId: string, q: SessionQuery): Promise<SessionView[]> {
    const { rows } = await tenantQuery(this.pool, workspaceId,
      `SELECT ${COLUMNS} FROM dispatch_sessions WHERE workspace_id = $1
         AND ($2::text IS NULL OR campaign_id = $2) AND ($3::text IS NULL OR contact_key = $3) AND ($4::text IS NULL OR communication_id = $4)
         AND ($5::text IS NULL OR (CASE WHEN status = 'closed' THEN 'closed' ELSE 'open' END) = $5)
       ORDER BY started_at DESC LIMIT $6`,
      [workspaceId, q.campaignId ?? null, q.contactKey ?? null, q.communicationId ?? null, q.status ?? null, Math.min(Math.max(Number(q.limit) || 50, 1), 500)],
    );
    return this.withMessages(rows);
  }

  private async withMessages(rows: Record<string, unknown>[]): Promise<SessionView[]> {
    const ids = rows.map((r) => r.session_id as string);
    const { rows: messages } = await this.pool.query<{ session_id: string; message_id: string; role: 'agent' | 'contact'; content: string; created_at: Date }>(
      `SELECT session_id, message_id, role, content, created_at FROM dispatch_session_messages WHERE session_id = ANY($1::text[]) ORDER BY position`, [ids]);
    return rows.map((r) => ({
      id: r.session_id as string, communicationId: r.communication_id as string, campaignId: r.campaign_id as string, contactKey: r.contact_key as string,
      channel: r.channel as string, agent: r.agent as string | null, integration: r.integration as string | null, state: r.state as string | null,
      status: r.status === 'closed' ? 'closed' : 'open', endReason: r.end_reason as string | null,
      startedAt: (r.started_at as Date).toISOString(), endedAt: r.ended_at ? (r.ended_at as Date).toISOString() : null,
      messages: messages.filter((m) => m.session_id === r.session_id).map((m) => ({ messageId: m.message_id, role: m.role, content: m.content, createdAt: m.created_at.toISOString() })),
    }));
  }
}

function toRecord(r: Record<string, unknown>): SessionRecord {
  return {
    sessionId: r.session_id as string, workspaceId: r.workspace_id as string, communicationId: r.communication_id as string,
    campaignId: r.campaign_id as string, contactKey: r.contact_key as string, streamId: r.stream_id as string, channel: r.channel as string,
    integration: r.integration as string | null, agent: r.agent as string | null, state: r.state as string | null, address: r.address as string | null,
    thread: r.thread as JsonObject, results: r.results as JsonObject, status: r.status as SessionRecord['status'],
    timeoutSeconds: Number(r.timeout_seconds), lastActivity: r.last_activity as Date, deadline: r.deadline as Date, startedAt: r.started_at as Date,
  };
}
