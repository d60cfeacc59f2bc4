import type { Pool } from 'pg';
import {
  campaignStreamId, deterministicEventId, newEvent, type Event, type MetadataInput, type RecordedEvent, type SchedulingPolicy,
} from '@herald/contracts';
import { WrongExpectedRevisionError, type EventStore, type StreamAppend } from '@herald/event-store';
import { rebuild as rebuildContact, type ContactEvent } from '@herald/contact-model';
import { evolve as evolveCampaign, type CampaignState } from '@herald/campaign-model';
import { campaignRules, decideFiring, type CampaignRules, type Decision, type FiringInput } from './rules/decide-firing';
import { applyFrequencyCaps, applyRateLimits, loadPolicies, pruneStarts, type StartRequest } from './limits-store';
import { identitiesOf } from './projection';
import { CampaignFinisher } from './finisher';

/**
 * A claim older than this belongs to a crashed replica (or one cut off from the database) and is
 * taken over. A claim is the row marked fired; the projection closes it when it sees the start.
 */
export const CLAIM_TIMEOUT_MS = 60_000;

export interface TimerLoopOptions {
  pool: Pool;
  store: EventStore;
  workerId: string;
  /** Timers claimed and fired per statement (default 500). */
  batchSize?: number;
  /** Batches in flight at once in this replica (default 2). */
  concurrency?: number;
  /** Upper bound on sleeping when nothing is due (events wake the loop earlier). */
  maxSleepMs?: number;
  claimTimeoutMs?: number;
  onError?: (error: unknown) => void;
  now?: () => Date;
}

/** A claimed timer with what firing needs of its contact, as projected at `revision`. */
interface Claimed {
  communication_id: string;
  workspace_id: string;
  campaign_id: string;
  stream_id: string;
  stage_name: string;
  start_date: Date;
  end_date: Date | null;
  cause_event_id: string;
  correlation_id: string;
  traceparent: string | null;
  contact_key: string;
  revision: number;
  phone: string | null;
  timezone: string | null;
  identities: string[];
  due_at: Date;
}

interface Plan {
  readonly timer: Claimed;
  decision: Decision;
}

const fireEventId = (communicationId: string) => deterministicEventId(`fire:${communicationId}`);

/**
 * Fires due timers of running campaigns. Replicas claim disjoint batches
 * with FOR UPDATE SKIP LOCKED (a claim left by a crashed replica expires).
 * A batch is decided from the projected contact rows and appended in one
 * appendMany: each contact stream expects the revision the decision was
 * made at, and the campaign stream is appended nothing but must still be at
 * the revision whose state said RUNNING, so a Stop or any change in between
 * makes the append fail and the affected timers are decided again from the
 * streams themselves. Every firing event's id is `fire:<communication id>`:
 * a communication yields one CommunicationStarted or one MISSED/ERROR end,
 * never two, whatever crashes or replicas do.
 */
export class TimerLoop {
  private running = false;
  private sleeper: { timer: NodeJS.Timeout; resolve: () => void; until: number } | null = null;
  private woken = false;
  /** The earliest due time announced while the loop was busy. */
  private wakeBy = Infinity;
  private done: Promise<void> = Promise.resolve();
  private lastPrune = 0;
  /** Campaign states as last read; each batch reads only the events appended since (the append is guarded by the revision anyway). */
  private readonly campaigns = new Map<string, CampaignState | null>();
  readonly finisher: CampaignFinisher;

  constructor(private readonly options: TimerLoopOptions) {
    this.finisher = new CampaignFinisher(options.pool, options.store);
  }

  private get batchSize(): number {
    return this.options.batchSize ?? 500;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.run();
  }

  /** Run a pass now (something changed). */
  wake(): void {
    this.woken = true;
    if (this.sleeper) {
      clearTimeout(this.sleeper.timer);
      this.sleeper.resolve();
      this.sleeper = null;
    }
  }

  /**
   * Something is due at `ms` (epoch): a loop sleeping past it wakes then
   * instead. A busy loop needs nothing: it looks at the table when done.
   */
  wakeAt(ms: number): void {
    const s = this.sleeper;
    if (!s) {
      // Busy: the pass may have read the table just before this timer was committed; the next sleep honours it.
      this.wakeBy = Math.min(this.wakeBy, ms);
      return;
    }
    if (ms >= s.until) return;
    const delay = ms - Date.now();
    if (delay <= 0) return this.wake();
    clearTimeout(s.timer);
    s.until = ms;
    s.timer = setTimeout(() => { this.sleeper = null; s.resolve(); }, delay);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.done;
  }

  /** One pass: claims and fires every due timer. Returns how many communications were started or ended. */
  async tick(): Promise<number> {
    const workers = Array.from({ length: Math.max(1, this.options.concurrency ?? 2) }, () => this.drain());
    const counts = await Promise.all(workers);
    return counts.reduce((a, b) => a + b, 0);
  }

  private async drain(): Promise<number> {
    let fired = 0;
    // Due timers first, then the claims of replicas that died with them.
    for (const claim of [() => this.claim(), () => this.claimExpired()]) {
      for (;;) {
        const batch = await claim();
        if (batch.length) fired += await this.fireBatch(batch);
        if (batch.length < this.batchSize) break;
      }
    }
    return fired;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      this.wakeBy = Infinity;
      let finishPending = false;
      try {
        await this.tick();
        finishPending = await this.finisher.checkDue();
        if (Date.now() - this.lastPrune > 600_000) {
          this.lastPrune = Date.now();
          await pruneStarts(this.options.pool, this.now());
        }
      } catch (error) {
        this.options.onError?.(error);
      }
      if (!this.running || this.woken) continue;
      let delay = await this.nextDelay().catch(() => 1000);
      if (finishPending) delay = Math.min(delay, 1000);
      if (this.wakeBy !== Infinity) delay = Math.min(delay, Math.max(0, this.wakeBy - Date.now()));
      await this.sleep(delay);
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async nextDelay(): Promise<number> {
    const max = this.options.maxSleepMs ?? 5000;
    // Per running campaign the earliest timer (an index probe each), then the earliest of those.
    const { rows } = await this.options.pool.query<{ due: Date | null }>(
      `SELECT min(x.due_at) AS due FROM scheduler_campaigns c
         CROSS JOIN LATERAL (SELECT m.due_at FROM scheduler_communications m
                              WHERE m.campaign_id = c.campaign_id AND m.status = 'PLANNED' AND NOT m.fired
                              ORDER BY m.due_at LIMIT 1) x
        WHERE c.running`,
    );
    const due = rows[0]?.due;
    if (!due) return max;
    return Math.max(0, Math.min(max, due.getTime() - this.now().getTime()));
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.sleeper = { timer: setTimeout(() => { this.sleeper = null; resolve(); }, ms), resolve, until: Date.now() + ms };
    });
  }

  /**
   * Claims due timers of running campaigns: one update per row marks it fired (it leaves the timer
   * index) and records who claimed it when. The firing that follows needs no second write; a claim
   * whose firing never happened is found by its age (`claimExpired`).
   */
  private async claim(): Promise<Claimed[]> {
    const now = this.now();
    return this.claimed(await this.options.pool.query<Claimed>(
      // The ids go through ARRAY(SELECT ...) so the planner probes the primary key for them whatever the
      // batch's share of the table (with the ids as a plain parameter it may scan and hash the whole table).
      `WITH picked AS (
         SELECT x.communication_id FROM scheduler_campaigns c
          CROSS JOIN LATERAL (
            SELECT m.communication_id, m.due_at FROM scheduler_communications m
             WHERE m.campaign_id = c.campaign_id AND m.status = 'PLANNED' AND NOT m.fired AND m.due_at <= $2
             ORDER BY m.due_at LIMIT $3
             FOR UPDATE SKIP LOCKED) x
          WHERE c.running
          ORDER BY x.due_at LIMIT $3)
       ${CLAIM_UPDATE}`,
      [this.options.workerId, now, this.batchSize],
    ));
  }

  /**
   * Claims left by a replica that died before firing them (or before it could tell): fired but still
   * PLANNED, claimed longer ago than the claim timeout. Whether the dead replica's append went through
   * is for the firing to find out: its append then meets a moved stream and the careful path reads it.
   * A projection more than the timeout behind brings its fired rows here too; reading their streams
   * once settles them.
   */
  private async claimExpired(): Promise<Claimed[]> {
    const now = this.now();
    return this.claimed(await this.options.pool.query<Claimed>(
      `WITH picked AS (
         SELECT o.communication_id FROM scheduler_communications o
          WHERE o.status = 'PLANNED' AND o.fired AND o.claimed_at < $3
          ORDER BY o.claimed_at LIMIT $4
          FOR UPDATE SKIP LOCKED)
       ${CLAIM_UPDATE}`,
      [this.options.workerId, now, new Date(now.getTime() - (this.options.claimTimeoutMs ?? CLAIM_TIMEOUT_MS)), this.batchSize],
    ));
  }

  private claimed({ rows }: { rows: Claimed[] }): Claimed[] {
    // In due order: caps and rate limits serve the batch first come, first served.
    return rows.sort((a, b) => a.due_at.getTime() - b.due_at.getTime());
  }

  private async loadRules(campaignIds: readonly string[]): Promise<Map<string, CampaignRules>> {
    if (this.campaigns.size > 1000) this.campaigns.clear();
    const entries = await Promise.all(campaignIds.map(async (id) => {
      const cached = this.campaigns.get(id) ?? null;
      const events = await this.options.store.readStream(campaignStreamId(id), { fromRevision: cached ? cached.revision + 1 : 0 });
      const state = events.reduce<CampaignState | null>((s, e) => evolveCampaign(s, e), cached);
      if (state) this.campaigns.set(id, state);
      return [id, campaignRules(state, id)] as const;
    }));
    return new Map(entries);
  }

  /** Fires a claimed batch; answers how many communications were started or ended. */
  private async fireBatch(batch: Claimed[]): Promise<number> {
    const now = this.now();
    let rules = await this.loadRules([...new Set(batch.map((t) => t.campaign_id))]);
    const policies = await loadPolicies(this.options.pool, [...new Set(batch.map((t) => t.workspace_id))]);

    const unclaim: Claimed[] = [];
    const later: Claimed[] = [];
    const plans: Plan[] = [];
    const streams = new Set<string>();
    for (const timer of batch) {
      const r = rules.get(timer.campaign_id)!;
      if (!r.runnable) unclaim.push(timer); // stopped meanwhile: left for the next Start
      else if (streams.has(timer.stream_id)) later.push(timer); // one firing per contact stream per append
      else {
        streams.add(timer.stream_id);
        plans.push({ timer, decision: decideFiring(inputOf(timer), r, now) });
      }
    }
    await this.applyLimits(plans, policies, now);

    const firing = plans.filter((p) => p.decision.kind !== 'defer');
    let fired: Plan[] = [];
    let retry: Plan[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        const duplicate = await this.append(firing, rules, now);
        // Already marked by the claim: nothing more to write, except for what an earlier claimer had fired.
        fired = firing.filter((p) => !duplicate.has(p.timer.communication_id));
        await this.settle(firing.filter((p) => duplicate.has(p.timer.communication_id)).map((p) => p.timer));
        break;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (error.streamId.startsWith('campaign-') && attempt < 2) {
          // A campaign changed (stopped, an upload...): read it again and decide again.
          rules = await this.loadRules([...rules.keys()]);
          for (const p of firing) {
            const r = rules.get(p.timer.campaign_id)!;
            if (!r.runnable) {
              p.decision = { kind: 'defer', until: new Date(now.getTime() + 1000), reason: 'campaign not running' };
              continue;
            }
            // Decide again under the new settings; what may still start keeps the verdict its limits gave.
            const again = decideFiring(inputOf(p.timer), r, now);
            if (again.kind !== 'start') p.decision = again;
          }
          firing.splice(0, firing.length, ...firing.filter((p) => p.decision.kind !== 'defer'));
          continue;
        }
        retry = firing; // a contact changed since it was projected: each on its own, from its stream
        break;
      }
    }
    await this.defer(plans.filter((p) => p.decision.kind === 'defer').map((p) => [p.timer, (p.decision as { until: Date }).until]));
    // Stopped meanwhile (the projection has not seen it yet): look again in a second, not in a spin.
    await this.defer(unclaim.map((t) => [t, new Date(now.getTime() + 1000)]));
    let count = fired.length;
    for (const p of retry) count += await this.fireFromStream(p.timer, rules, policies);
    for (const t of later) count += await this.fireFromStream(t, rules, policies);
    return count;
  }

  /** Frequency caps, then rate limits, over the batch's starts; they turn starts into waits or misses. */
  private async applyLimits(plans: Plan[], policies: Map<string, SchedulingPolicy>, now: Date): Promise<void> {
    const requests = (): StartRequest[] => plans.flatMap((p, key) => p.decision.kind === 'start'
      ? [{ key, workspaceId: p.timer.workspace_id, communicationId: p.timer.communication_id, identities: p.timer.identities ?? [], channel: p.decision.channel, windowEnd: p.decision.windowEnd }]
      : []);
    const limited = [...policies.values()].some((p) => p.frequencyCap || Object.keys(p.rateLimits).length);
    if (!limited) return;
    for (const apply of [applyFrequencyCaps, applyRateLimits]) {
      const verdicts = await apply(this.options.pool, requests(), policies, now);
      for (const [key, v] of verdicts) plans[key].decision = v.kind === 'defer' ? { kind: 'defer', until: v.until, reason: v.reason } : v;
    }
  }

  private eventFor(plan: Plan, now: Date): Event {
    const { timer, decision } = plan;
    const metadata: MetadataInput = {
      workspaceId: timer.workspace_id, correlationId: timer.correlation_id, causationId: timer.cause_event_id,
      eventId: fireEventId(timer.communication_id), ...(timer.traceparent ? { traceparent: timer.traceparent } : {}),
    };
    if (decision.kind === 'start') {
      return newEvent('CommunicationStarted', {
        communicationId: timer.communication_id, campaignId: timer.campaign_id, contactKey: timer.contact_key, stageName: timer.stage_name,
        channel: decision.channel, agent: decision.agent, variant: decision.variant, startedAt: now.toISOString(), sessionId: null,
      }, metadata);
    }
    const reason = (decision as { reason: string }).reason;
    return newEvent('CommunicationEnded', {
      communicationId: timer.communication_id, status: decision.kind === 'missed' ? 'MISSED' : 'ERROR', sessionStatus: null,
      result: reason, finishedAt: now.toISOString(), sessionResults: null,
    }, metadata);
  }

  /** Appends the plans' events in one call; answers the communications whose event was already stored (fired before). */
  private async append(plans: Plan[], rules: Map<string, CampaignRules>, now: Date): Promise<Set<string>> {
    if (!plans.length) return new Set();
    const campaigns = new Set(plans.map((p) => p.timer.campaign_id));
    const appends: StreamAppend[] = [
      ...plans.map((p) => ({ streamId: p.timer.stream_id, events: [this.eventFor(p, now)], expectedRevision: p.timer.revision })),
      // Nothing is written to the campaign: its revision must still be the one that said RUNNING.
      ...[...campaigns].map((id) => ({ streamId: campaignStreamId(id), events: [], expectedRevision: rules.get(id)!.revision })),
    ];
    const results = await this.options.store.appendMany(appends);
    return new Set(plans.filter((_, i) => results[i].duplicate).map((p) => p.timer.communication_id));
  }

  /**
   * The careful path for one timer: the contact as its stream says now, not
   * as projected. Used when the projection is behind the stream.
   */
  private async fireFromStream(timer: Claimed, rules: Map<string, CampaignRules>, policies: Map<string, SchedulingPolicy>): Promise<number> {
    const { store } = this.options;
    const history = await store.readStream(timer.stream_id);
    const contact = rebuildContact(history);
    const communication = contact?.communications.find((c) => c.id === timer.communication_id);
    if (!contact || !communication || communication.status !== 'PLANNED') {
      await this.settle([timer]); // nothing to fire; the projection closes it
      return 0;
    }
    const r = rules.get(timer.campaign_id)!;
    const now = this.now();
    if (!r.runnable) {
      await this.defer([[timer, new Date(now.getTime() + 1000)]]);
      return 0;
    }
    const current: Claimed = {
      ...timer, stage_name: communication.stageName, start_date: new Date(communication.startDate),
      end_date: communication.endDate ? new Date(communication.endDate) : null, revision: contact.revision,
      phone: contact.phone, timezone: null, identities: identitiesOf(contact.email, contact.phone), contact_key: contact.key,
    };
    const plan: Plan = { timer: current, decision: decideFiring({ ...inputOf(current), contact: { phone: contact.phone, parameters: contact.parameters } }, r, now) };
    await this.applyLimits([plan], policies, now);
    if (plan.decision.kind === 'defer') {
      await this.defer([[timer, plan.decision.until]]);
      return 0;
    }
    const planned = history.find((e) => e.type === 'CommunicationPlanned'
      && (e as RecordedEvent<ContactEvent> & { type: 'CommunicationPlanned' }).data.communication.id === communication.id);
    if (planned) Object.assign(current, { cause_event_id: planned.metadata.eventId, correlation_id: planned.metadata.correlationId });
    let duplicate: Set<string>;
    try {
      duplicate = await this.append([plan], rules, now);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      // Still changing (a live conversation, a Stop): look again shortly rather than spin.
      await this.defer([[timer, new Date(now.getTime() + 200)]]);
      return 0;
    }
    await this.settle([timer]);
    return duplicate.size ? 0 : 1;
  }

  /** The stream says the communication is fired (now, or before): the claim is no longer for anyone to take over. */
  private async settle(timers: Claimed[]): Promise<void> {
    if (!timers.length) return;
    await this.options.pool.query(
      `UPDATE scheduler_communications SET claimed_by = NULL, claimed_at = NULL WHERE communication_id = ANY($1) AND claimed_by = $2`,
      [timers.map((t) => t.communication_id), this.options.workerId]);
  }

  /** Releases claims back to the timers, with the next due time (sending hours, caps, rate limits, a later start, a Start). */
  private async defer(items: [Claimed, Date][]): Promise<void> {
    if (!items.length) return;
    await this.options.pool.query(
      `UPDATE scheduler_communications m SET due_at = d.until, fired = false, claimed_by = NULL, claimed_at = NULL
         FROM unnest($1::text[], $2::timestamptz[]) AS d(id, until)
        WHERE m.communication_id = d.id AND m.claimed_by = $3 AND m.status = 'PLANNED'`,
      [items.map(([t]) => t.communication_id), items.map(([, d]) => d), this.options.workerId],
    );
  }
}

/** Marks the picked rows fired and claimed, and returns what firing needs of each with its contact. */
const CLAIM_UPDATE = `UPDATE scheduler_communications m SET fired = true, claimed_by = $1, claimed_at = $2
    FROM scheduler_contacts k
   WHERE m.communication_id = ANY(ARRAY(SELECT communication_id FROM picked)) AND k.stream_id = m.stream_id
  RETURNING m.communication_id, m.workspace_id, m.campaign_id, m.stream_id, m.stage_name, m.start_date, m.end_date,
            m.cause_event_id, m.correlation_id, m.traceparent, k.contact_key, k.revision, k.phone, k.timezone, k.identities, m.due_at`;

function inputOf(t: Claimed): FiringInput {
  return {
    communicationId: t.communication_id, stageName: t.stage_name, startDate: t.start_date, endDate: t.end_date,
    contact: { phone: t.phone, timezone: t.timezone },
  };
}
