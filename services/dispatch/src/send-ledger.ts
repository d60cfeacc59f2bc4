import type { Pool } from 'pg';

export const SEND_LEDGER_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dispatch_send_ledger (
    communication_id    text PRIMARY KEY,
    workspace_id        text NOT NULL,
    channel             text NOT NULL,
    state               text NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
    provider_message_id text,
    outcome             jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
  )`;

export type LedgerEntry = { state: 'sending' | 'sent' | 'failed'; outcome: unknown; updatedAt: Date };

/**
 * The send ledger: one row per communication id, written before the
 * provider is called. Whoever inserts the row owns the send; everyone else
 * (a redelivery, another replica, a restart) sees the row and never calls
 * the provider again. Keys are communication ids, and `reply:<message id>`
 * for the agent's answers inside a conversation.
 */
export class SendLedger {
  constructor(private readonly pool: Pool) {}

  /** True when this caller now owns the send; otherwise the existing entry. */
  async claim(communicationId: string, workspaceId: string, channel: string): Promise<true | LedgerEntry> {
    const inserted = await this.pool.query(
      `INSERT INTO dispatch_send_ledger (communication_id, workspace_id, channel, state) VALUES ($1, $2, $3, 'sending')
       ON CONFLICT DO NOTHING`,
      [communicationId, workspaceId, channel],
    );
    if (inserted.rowCount === 1) return true;
    const { rows } = await this.pool.query<LedgerEntry>(`SELECT state, outcome, updated_at AS "updatedAt" FROM dispatch_send_ledger WHERE communication_id = $1`, [communicationId]);
    return rows[0];
  }

  /** claim() for many sends in one statement: the ids this caller now owns (the others were claimed before). */
  async claimMany(sends: readonly { communicationId: string; workspaceId: string; channel: string }[]): Promise<Set<string>> {
    if (!sends.length) return new Set();
    const { rows } = await this.pool.query<{ communication_id: string }>(
      `INSERT INTO dispatch_send_ledger (communication_id, workspace_id, channel, state)
       SELECT id, ws, ch, 'sending' FROM unnest($1::text[], $2::text[], $3::text[]) AS s(id, ws, ch)
       ON CONFLICT DO NOTHING RETURNING communication_id`,
      [sends.map((s) => s.communicationId), sends.map((s) => s.workspaceId), sends.map((s) => s.channel)],
    );
    return new Set(rows.map((r) => r.communication_id));
  }

  async heartbeatMany(communicationIds: readonly string[]): Promise<void> {
    await this.pool.query(`UPDATE dispatch_send_ledger SET updated_at = now() WHERE communication_id = ANY($1::text[]) AND state = 'sending'`, [communicationIds]);
  }

  /** record() for many sends in one statement. */
  async recordMany(records: readonly { communicationId: string; state: 'sent' | 'failed'; outcome: unknown; providerMessageId: string | null }[]): Promise<void> {
    if (!records.length) return;
    await this.pool.query(
      `UPDATE dispatch_send_ledger l SET state = r.state, outcome = r.outcome::jsonb, provider_message_id = r.pid, updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS r(id, state, outcome, pid) WHERE l.communication_id = r.id`,
      [records.map((r) => r.communicationId), records.map((r) => r.state), records.map((r) => JSON.stringify(r.outcome)), records.map((r) => r.providerMessageId)],
    );
  }

  async entry(communicationId: string): Promise<LedgerEntry | null> {
    const { rows } = await this.pool.query<LedgerEntry>(`SELECT state, outcome, updated_at AS "updatedAt" FROM dispatch_send_ledger WHERE communication_id = $1`, [communicationId]);
    return rows[0] ?? null;
  }

  /** The owner of a send still in progress says so (a long rate-limit wait is not a dead dispatcher). */
  async heartbeat(communicationId: string): Promise<void> {
    await this.pool.query(`UPDATE dispatch_send_ledger SET updated_at = now() WHERE communication_id = $1 AND state = 'sending'`, [communicationId]);
  }

  async record(communicationId: string, state: 'sent' | 'failed', outcome: unknown, providerMessageId: string | null): Promise<void> {
    await this.pool.query(
      `UPDATE dispatch_send_ledger SET state = $2, outcome = $3, provider_message_id = $4, updated_at = now() WHERE communication_id = $1`,
      [communicationId, state, JSON.stringify(outcome), providerMessageId],
    );
  }
}
