import type { Pool } from 'pg';
import { conflict, contactStreamId, invalid, notFound, type HumanTaskClose, type HumanTaskView, type JsonObject } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import type { ChannelAdapter, DispatchRequest, StartResult } from '../adapters/channel-adapter';
import { renderTemplate } from '../adapters/template';
import { endCommunication } from '../sessions/contact-stream';
import { tenantQuery } from '@herald/service-defaults';

export const HUMAN_SCHEMA = `
  CREATE TABLE IF NOT EXISTS dispatch_human_tasks (
    task_id          text PRIMARY KEY,
    workspace_id     text NOT NULL,
    communication_id text NOT NULL UNIQUE,
    campaign_id      text NOT NULL,
    contact_key      text NOT NULL,
    stream_id        text NOT NULL,
    stage_name       text NOT NULL,
    role             text,
    contact          jsonb NOT NULL,
    instructions     text,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'claimed', 'closed')),
    assignee         text,
    result           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz,
    closed_at        timestamptz
  );
  CREATE INDEX IF NOT EXISTS dispatch_human_tasks_queue ON dispatch_human_tasks (workspace_id, status, created_at)`;

/**
 * The Human channel: a started communication becomes a task in the
 * workspace's queue; a person claims it (one claimer; a claim is a single
 * conditional UPDATE, so two people never hold the same task) and closes it
 * with a result, which ends the communication and triggers Aggregation.
 */
export class HumanQueue implements ChannelAdapter {
  readonly channel = 'human';

  constructor(private readonly pool: Pool, private readonly store: EventStore) {}

  async start(r: DispatchRequest): Promise<StartResult> {
    const c = r.contact;
    // The stage's instructions, with the contact's values filled in ({{name}}, {{amount_due}}, ...).
    const instructions = typeof r.stage.settings.instructions === 'string' ? renderTemplate(r.stage.settings.instructions, c) : null;
    await this.pool.query(
      `INSERT INTO dispatch_human_tasks (task_id, workspace_id, communication_id, campaign_id, contact_key, stream_id, stage_name, role, contact, instructions)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
      [r.communicationId, r.workspaceId, r.communicationId, c.campaignId, c.key, contactStreamId(c.campaignId, c.key), r.stage.name, r.stage.agent,
        { name: c.name, email: c.email, phone: c.phone, parameters: c.parameters }, instructions],
    );
    return { kind: 'open', address: null, providerMessageId: r.communicationId, sent: null };
  }

  async list(workspaceId: string, status?: string): Promise<HumanTaskView[]> {
    if (status && !['open', 'claimed', 'closed'].includes(status)) throw invalid('status', 'must be open, claimed or closed');
    const { rows } = await tenantQuery(this.pool, workspaceId,
      `SELECT * FROM dispatch_human_tasks WHERE workspace_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at LIMIT 500`,
      [workspaceId, status ?? null],
    );
    return rows.map(view);
  }

  async claim(workspaceId: string, taskId: string, assignee: string): Promise<HumanTaskView> {
    if (typeof assignee !== 'string' || !assignee.trim()) throw invalid('assignee', 'who claims the task is required');
    const { rows } = await this.pool.query(
      `UPDATE dispatch_human_tasks SET status = 'claimed', assignee = $3, claimed_at = now()
       WHERE workspace_id = $1 AND task_id = $2 AND (status = 'open' OR (status = 'claimed' AND assignee = $3)) RETURNING *`,
      [workspaceId, taskId, assignee.trim()],
    );
    if (rows[0]) return view(rows[0]);
    const current = await this.get(workspaceId, taskId);
    throw conflict(current.status === 'closed' ? `task ${taskId} is closed` : `task ${taskId} is claimed by ${current.assignee}`);
  }

  async closeTask(workspaceId: string, taskId: string, input: HumanTaskClose): Promise<HumanTaskView> {
    const status = input?.status ?? 'COMPLETED';
    if (!['COMPLETED', 'INTERRUPTED', 'ERROR'].includes(status)) throw invalid('status', 'must be COMPLETED, INTERRUPTED or ERROR');
    if (input.sessionResults !== undefined && (typeof input.sessionResults !== 'object' || input.sessionResults === null || Array.isArray(input.sessionResults))) {
      throw invalid('sessionResults', 'must be an object');
    }
    const task = await this.get(workspaceId, taskId);
    if (task.status === 'closed') throw conflict(`task ${taskId} is closed`);
    if (task.status !== 'claimed' || task.assignee !== input.assignee) throw conflict(`task ${taskId} must be claimed by ${input.assignee ?? 'the closer'} first`);
    const { rows: [row] } = await this.pool.query(`SELECT stream_id FROM dispatch_human_tasks WHERE task_id = $1`, [taskId]);
    const sessionResults: JsonObject = { ...(input.sessionResults ?? {}), handledBy: input.assignee };
    await endCommunication(this.store, row.stream_id, task.communicationId,
      { status, sessionStatus: input.sessionStatus ?? 'HANDLED', result: input.result ?? null, sessionResults }, { workspaceId, correlationId: taskId });
    const { rows } = await this.pool.query(
      `UPDATE dispatch_human_tasks SET status = 'closed', result = $3, closed_at = now() WHERE workspace_id = $1 AND task_id = $2 RETURNING *`,
      [workspaceId, taskId, input.result ?? null],
    );
    return view(rows[0]);
  }

  private async get(workspaceId: string, taskId: string): Promise<HumanTaskView> {
    const { rows } = await this.pool.query(`SELECT * FROM dispatch_human_tasks WHERE workspace_id = $1 AND task_id = $2`, [workspaceId, taskId]);
    if (!rows[0]) throw notFound(`task "${taskId}"`);
    return view(rows[0]);
  }
}

function view(r: Record<string, unknown>): HumanTaskView {
  const iso = (d: unknown) => (d ? (d as Date).toISOString() : null);
  return {
    id: r.task_id as string, communicationId: r.communication_id as string, campaignId: r.campaign_id as string, contactKey: r.contact_key as string,
    stageName: r.stage_name as string, role: r.role as string | null, status: r.status as HumanTaskView['status'], assignee: r.assignee as string | null,
    contact: r.contact as HumanTaskView['contact'], instructions: r.instructions as string | null,
    createdAt: iso(r.created_at)!, claimedAt: iso(r.claimed_at), closedAt: iso(r.closed_at), result: r.result as string | null,
  };
}
