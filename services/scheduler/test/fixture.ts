import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { campaignStreamId, contactStreamId, newEvent, type Event } from '@herald/contracts';
import type { PostgresEventStore } from '@herald/event-store';
import type { StageDefinition } from '@herald/campaign-model';
import { projectSchedulerEvent } from '../src/scheduler-core';

/** Builds campaigns and contacts as events and applies them to the scheduler's tables, as its consumer does. */
export class SchedulerFixture {
  private projected = 0;

  constructor(readonly db: { pool: Pool }, readonly store: PostgresEventStore, readonly workspaceId = 'ws-sched') {}

  get meta() {
    return { workspaceId: this.workspaceId };
  }

  stage(name = 'Reminder', settings: Record<string, unknown> = {}, channel = 'email_notification'): StageDefinition {
    return { id: randomUUID(), name, description: 'd', channel: channel as StageDefinition['channel'], agent: null, settings };
  }

  /** A campaign with the given stages; running unless told otherwise. */
  async campaign(options: { stages?: StageDefinition[]; running?: boolean; extra?: Event[] } = {}): Promise<string> {
    const id = randomUUID();
    await this.store.append(campaignStreamId(id), [
      newEvent('CampaignCreated', { campaignId: id, name: 'c', description: 'd', labels: [] }, this.meta),
      ...(options.stages ?? [this.stage()]).map((stage) => newEvent('StageAdded', { stage }, this.meta)),
      ...(options.extra ?? []),
      ...(options.running === false ? [] : [newEvent('CampaignStarted', {}, this.meta)]),
    ], 'no_stream');
    return id;
  }

  async campaignEvents(id: string, ...events: Event[]): Promise<void> {
    await this.store.append(campaignStreamId(id), events, 'any');
  }

  /** A contact with one planned communication; offsets in ms from `base`. */
  async contact(campaignId: string, key: string, plan: { start: number; end: number | null; stage?: string; base?: number },
    details: { email?: string | null; phone?: string | null; parameters?: Record<string, string> } = {}): Promise<{ stream: string; commId: string }> {
    const stream = contactStreamId(campaignId, key);
    const commId = randomUUID();
    const base = plan.base ?? Date.now();
    await this.store.append(stream, [
      newEvent('ContactCreated', {
        campaignId, key, objectId: key, externalId: null, name: key, email: details.email === undefined ? `${key}@example.com` : details.email,
        phone: details.phone ?? null, parameters: details.parameters ?? {}, uploadId: null, row: null,
      }, this.meta),
      newEvent('CommunicationPlanned', { communication: {
        id: commId, name: 'first', stageName: plan.stage ?? 'Reminder',
        startDate: new Date(base + plan.start).toISOString(), endDate: plan.end === null ? null : new Date(base + plan.end).toISOString(),
      } }, this.meta),
    ], 'no_stream');
    return { stream, commId };
  }

  /**
   * Applies every new event to the scheduler's tables, as the consumer does;
   * streams are spread over a few connections (each stream's events stay in
   * order on one of them), one transaction per connection and batch.
   */
  async project(lanes = 4): Promise<void> {
    for (;;) {
      const events = await this.store.readAll({ after: this.projected, maxCount: 20_000 });
      if (!events.length) return;
      const byLane: (typeof events)[] = Array.from({ length: lanes }, () => []);
      for (const e of events) byLane[e.streamId.startsWith('campaign-') ? 0 : hash(e.streamId) % lanes].push(e);
      // Campaign events first, so the campaign rows exist when the contacts' arrive.
      const run = async (lane: typeof events) => {
        if (!lane.length) return;
        const client: PoolClient = await this.db.pool.connect();
        try {
          await client.query('BEGIN');
          for (const e of lane) await projectSchedulerEvent(e, '', client);
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      };
      const campaigns = byLane[0].filter((e) => e.streamId.startsWith('campaign-'));
      await run(campaigns);
      byLane[0] = byLane[0].filter((e) => !e.streamId.startsWith('campaign-'));
      await Promise.all(byLane.map(run));
      this.projected = events[events.length - 1].position;
    }
  }

  /** The firing events of a contact stream (starts and ends). */
  async ends(stream: string) {
    return (await this.store.readStream(stream)).filter((e) => e.type === 'CommunicationStarted' || e.type === 'CommunicationEnded');
  }
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}
