import {
  deterministicEventId, newEvent, type ContactSnapshot, type ContactState, type DataLoadResult, type DryRunAggregationReport, type DryRunStep, type DryRunView,
  type EndStatus, type JsonObject, type SchedulingPolicy,
} from '@herald/contracts';
import { diffContact, evolve, InvalidContactError, type ContactChange, type ContactDraft, type ContactEvent } from '@herald/contact-model';
import { contactZones } from './rules/contact-zones';
import { decideFiring, windowEndOf, type CampaignRules } from './rules/decide-firing';
import { CapCounter } from './rules/limits';

/** A planned communication with its contact, as the projection holds it. */
export interface SimulatedCommunication {
  readonly communicationId: string;
  readonly name: string;
  readonly stageName: string;
  readonly startDate: Date;
  readonly endDate: Date | null;
  readonly streamId: string;
  readonly contactKey: string;
  readonly contactName: string | null;
  readonly phone: string | null;
  readonly timezone: string | null;
  readonly identities: readonly string[];
}

/** One Aggregation call of the simulation: a contact as the simulation has it, its ended communication flagged. */
export interface AggregationInput {
  readonly contact: ContactSnapshot;
  readonly sessionResults: JsonObject | null;
  readonly flaggedCommunicationId: string;
}

/**
 * What the dry run needs to simulate Aggregation: the campaign's strategy in
 * the real strategies runtime (which writes nothing for a simulation) and
 * the contacts' states from their streams, bounded in virtual time and in
 * the number of runs.
 */
export interface AggregationSimulation {
  run(items: readonly AggregationInput[], now: Date): Promise<readonly DataLoadResult[]>;
  /** Contact states by stream id (null: no such stream). */
  contacts(streamIds: readonly string[]): Promise<Map<string, ContactState | null>>;
  readonly stages: readonly string[];
  /** Ends after this virtual time are not run through Aggregation. */
  readonly horizon: Date;
  /** At most this many Aggregation runs (one per ended communication). */
  readonly maxRuns: number;
}

/** The timeline's step and the Aggregation report are API types (libs/contracts: DryRunView). */
export type SimulatedStep = DryRunStep;
export type DryRunResult = DryRunView;

/** Each start is taken to end at once like this, unless the end is the scheduler's own (MISSED, ERROR). */
export const ASSUMED_END = 'A communication that starts ends COMPLETED at the moment it starts, with empty session_results (session status and result null); MISSED and ERROR ends are the scheduler\'s own, with their reason as result.';
/** Ends within this much virtual time of each other share one Aggregation call (and its `now`). */
export const AGGREGATION_BATCH_MS = 60_000;
const AGGREGATION_BATCH_MAX = 500;
const MAX_LISTED_ERRORS = 20;

const SIMULATED = [
  'The communications the campaign\'s contacts have PLANNED now (planned by the Data Load strategy at upload, and by Aggregation so far).',
  'Windows: a communication starts when start_date <= t < end_date (no end date: the campaign\'s default window); past it, MISSED.',
  'Each stage\'s sending hours in the contact\'s time zone (parameter timezone, else phone region, else the campaign default, else UTC).',
  'The workspace frequency cap, counting the starts already made in its rolling period.',
  'The workspace per-channel rate limits (a start waits for its slot, in order of due time).',
  'The A/B variant each communication would start on.',
];
const SIMULATED_AGGREGATION = 'Aggregation after each end, through the campaign\'s strategy in the strategies runtime (nothing written): the follow-ups it plans, moves or cancels are simulated like the others, up to the horizon and the maximum number of runs. Ends within a minute of each other share one call and its `now` (the first end\'s time).';

const NOT_SIMULATED = [
  'Delivery: nothing is sent, no channel is called, and no event is written.',
  'Other campaigns of the workspace starting in the same period (the frequency cap counts only starts already made).',
  'Contacts from uploads still to come, and changes strategies make while the campaign runs (Intermediate analysis).',
];
const NOT_SIMULATED_OUTCOMES = 'Real session results: each start is assumed to end COMPLETED at once, with empty session_results. A strategy sees the virtual time as its `now` argument; datetime.now() inside it reads the real clock. Communications already STARTED are not ended.';

interface Contact {
  readonly key: string;
  readonly name: string | null;
  readonly streamId: string;
  readonly phone: string | null;
  readonly timezone: string | null;
  readonly identities: readonly string[];
  /** undefined until read; null when the stream is gone. */
  state: ContactState | null | undefined;
  /** Simulated events that happened before the state was read. */
  pending: { type: ContactChange['type']; data: unknown; at: string }[];
}

/** A communication of the simulation; mutable, since a simulated Aggregation run may move, rename or cancel it. */
interface Comm {
  readonly id: string;
  name: string;
  stageName: string;
  startDate: Date;
  endDate: Date | null;
  readonly contact: Contact;
  readonly plannedAfter: string | null;
  /** Still PLANNED in the simulation. */
  open: boolean;
  /** Bumped when its dates change: older agenda entries are stale. */
  version: number;
}

type Item =
  | { readonly kind: 'fire'; readonly c: Comm; readonly version: number; due: number; slot: number | null }
  | { readonly kind: 'end'; readonly c: Comm; due: number; readonly status: EndStatus; readonly result: string | null };

/** A binary min-heap on (due, insertion order): the virtual clock's agenda. */
class Agenda {
  private heap: { item: Item; seq: number }[] = [];
  private seq = 0;
  get size(): number { return this.heap.length; }
  peek(): Item { return this.heap[0].item; }
  push(item: Item): void {
    this.heap.push({ item, seq: this.seq++ });
    let i = this.heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [this.heap[i], this.heap[p]] = [this.heap[p], this.heap[i]];
      i = p;
    }
  }
  pop(): Item {
    const top = this.heap[0];
    const last = this.heap.pop()!;
    if (this.heap.length) {
      this.heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.heap.length && this.less(l, m)) m = l;
        if (r < this.heap.length && this.less(r, m)) m = r;
        if (m === i) break;
        [this.heap[i], this.heap[m]] = [this.heap[m], this.heap[i]];
        i = m;
      }
    }
    return top.item;
  }
  private less(a: number, b: number): boolean {
    const x = this.heap[a], y = this.heap[b];
    return x.item.due < y.item.due || (x.item.due === y.item.due && x.seq < y.seq);
  }
}

/** Reserves start slots per channel in time order: one token per start, perMinute refill, a second's worth of burst. */
class SlotReserver {
  private tokens: number;
  private at: number;
  private readonly perMs: number;
  private readonly capacity: number;
  constructor(perMinute: number, from: number) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.tokens = this.capacity;
    this.at = from;
  }
  reserve(t: number): number {
    if (t > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + (t - this.at) * this.perMs);
      this.at = t;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return t;
    }
    const slot = this.at + Math.ceil((1 - this.tokens) / this.perMs);
    this.tokens = 0;
    this.at = slot;
    return slot;
  }
}

// The ids the live system gives these events (scheduler: fire:<id>, dispatch: end:<id>; the Aggregation hook
// derives follow-up ids from its cause), so a simulated follow-up gets the id, hence the A/B variant, it would get live.
const endEventId = (communicationId: string, status: EndStatus) =>
  deterministicEventId(status === 'MISSED' || status === 'ERROR' ? `fire:${communicationId}` : `end:${communicationId}`);
const followUpId = (endedCommunicationId: string, status: EndStatus, n: number) =>
  deterministicEventId(`agg:${endEventId(endedCommunicationId, status)}:communication`, n);

const snapshot = ({ campaignId: _c, key: _k, updatedAt: _u, revision: _r, ...rest }: ContactState): ContactSnapshot => rest;

function apply(contact: Contact, type: ContactChange['type'], data: unknown, at: string): void {
  if (contact.state === undefined) {
    contact.pending.push({ type, data, at });
    return;
  }
  if (contact.state === null) return;
  const event = newEvent(type, data, { workspaceId: 'dry-run', timestamp: at });
  contact.state = evolve(contact.state, { ...event, revision: contact.state.revision + 1 } as ContactEvent & { revision: number });
}

/**
 * Runs the scheduler's rules for every planned communication on a virtual
 * clock starting at `from`, with the same decision function the timers use;
 * with `aggregation`, each end runs the campaign's Aggregation strategy and
 * what it plans joins the agenda. Nothing is written anywhere.
 */
export async function simulate(args: {
  campaignId: string;
  from: Date;
  rules: CampaignRules;
  policy: SchedulingPolicy;
  communications: readonly SimulatedCommunication[];
  /** identity -> start times (ms) already made, for the frequency cap. */
  pastStarts: Map<string, number[]>;
  contactLimit: number;
  aggregation?: AggregationSimulation | null;
  /** Why Aggregation is not simulated, when `aggregation` is absent. */
  aggregationUnavailable?: string;
}): Promise<DryRunResult> {
  const { from, rules, policy } = args;
  const aggregation = args.aggregation ?? null;
  const cap = policy.frequencyCap ? new CapCounter(policy.frequencyCap, args.pastStarts) : null;
  const rates = new Map<string, SlotReserver>();
  const results = new Map<string, SimulatedStep>();
  const agenda = new Agenda();
  const comms = new Map<string, Comm>();
  const contacts = new Map<string, Contact>();
  const report: DryRunAggregationReport = {
    simulated: Boolean(aggregation), reason: aggregation ? null : args.aggregationUnavailable ?? 'not requested', assumption: ASSUMED_END,
    horizon: aggregation?.horizon.toISOString() ?? null, maxRuns: aggregation?.maxRuns ?? 0,
    runs: 0, planned: 0, updated: 0, cancelled: 0, failed: 0, errors: [], notRun: { afterHorizon: 0, overMaxRuns: 0 },
  };

  // Ties in due time go by contact key, then id: the same input always gives the same timeline.
  const ordered = [...args.communications].sort((a, b) => a.startDate.getTime() - b.startDate.getTime()
    || a.contactKey.localeCompare(b.contactKey) || a.communicationId.localeCompare(b.communicationId));
  for (const s of ordered) {
    let contact = contacts.get(s.streamId);
    if (!contact) {
      contact = { key: s.contactKey, name: s.contactName, streamId: s.streamId, phone: s.phone, timezone: s.timezone, identities: s.identities, state: undefined, pending: [] };
      contacts.set(s.streamId, contact);
    }
    const c: Comm = { id: s.communicationId, name: s.name, stageName: s.stageName, startDate: s.startDate, endDate: s.endDate, contact, plannedAfter: null, open: true, version: 0 };
    comms.set(c.id, c);
    agenda.push({ kind: 'fire', c, version: 0, due: Math.max(c.startDate.getTime(), from.getTime()), slot: null });
  }

  const settle = (item: Item & { kind: 'fire' }, outcome: DryRunStep['outcome'], at: number, reason: string | null, channel: string | null = null, variant: string | null = null, agent: string | null = null) => {
    const c = item.c;
    c.open = false;
    results.set(c.id, {
      communicationId: c.id, name: c.name, stageName: c.stageName, channel, variant,
      plannedStart: c.startDate.toISOString(), windowEnd: windowEndOf(c, rules).toISOString(), outcome, at: new Date(at).toISOString(),
      delayedMs: outcome === 'START' ? Math.max(0, at - Math.max(c.startDate.getTime(), from.getTime())) : 0, reason,
      ...(c.plannedAfter ? { plannedBy: 'AGGREGATION' as const, plannedAfter: c.plannedAfter } : {}),
    });
    if (!aggregation) return;
    const iso = new Date(at).toISOString();
    const status: EndStatus = outcome === 'START' ? 'COMPLETED' : outcome;
    if (outcome === 'START') {
      apply(c.contact, 'CommunicationStarted', {
        communicationId: c.id, campaignId: args.campaignId, contactKey: c.contact.key, stageName: c.stageName,
        channel: channel!, agent, variant, startedAt: iso, sessionId: null,
      }, iso);
    }
    apply(c.contact, 'CommunicationEnded', {
      communicationId: c.id, status, sessionStatus: null, result: outcome === 'START' ? null : reason, finishedAt: iso,
      sessionResults: outcome === 'START' ? {} : null,
    }, iso);
    agenda.push({ kind: 'end', c, due: at, status, result: reason });
  };

  /** Applies what a simulated Aggregation run changed: to the contact's state, and to the agenda. */
  const applyChanges = (contact: Contact, changes: readonly ContactChange[], after: Comm, now: number) => {
    const iso = new Date(now).toISOString();
    for (const change of changes) {
      apply(contact, change.type, change.data, iso);
      if (change.type === 'CommunicationPlanned') {
        const p = change.data.communication;
        const c: Comm = {
          id: p.id, name: p.name, stageName: p.stageName, startDate: new Date(p.startDate), endDate: p.endDate ? new Date(p.endDate) : null,
          contact, plannedAfter: after.id, open: true, version: 0,
        };
        comms.set(c.id, c);
        report.planned++;
        agenda.push({ kind: 'fire', c, version: 0, due: Math.max(c.startDate.getTime(), now), slot: null });
      } else if (change.type === 'CommunicationCancelled') {
        const c = comms.get(change.data.communicationId);
        if (c?.open) {
          c.open = false;
          report.cancelled++;
        }
      } else if (change.type === 'CommunicationUpdated') {
        const c = comms.get(change.data.communicationId);
        if (!c?.open) continue;
        const u = change.data.changes;
        if (u.status !== undefined && u.status !== 'PLANNED') {
          c.open = false;
          report.cancelled++;
          continue;
        }
        if (u.name !== undefined) c.name = u.name;
        if (u.stageName !== undefined) c.stageName = u.stageName;
        if (u.startDate !== undefined) c.startDate = new Date(u.startDate);
        if (u.endDate !== undefined) c.endDate = u.endDate ? new Date(u.endDate) : null;
        report.updated++;
        if (u.startDate !== undefined || u.endDate !== undefined) {
          c.version++;
          agenda.push({ kind: 'fire', c, version: c.version, due: Math.max(c.startDate.getTime(), now), slot: null });
        }
      }
    }
  };

  const fail = (c: Comm, error: string) => {
    report.failed++;
    if (report.errors.length < MAX_LISTED_ERRORS) report.errors.push({ contactKey: c.contact.key, communicationId: c.id, error });
  };

  /** Runs Aggregation for ends that share a call: at most one per contact, so each sees the previous one's changes. */
  const runEnds = async (batch: (Item & { kind: 'end' })[]) => {
    const sim = aggregation!;
    const now = batch[0].due;
    const runnable: (Item & { kind: 'end' })[] = [];
    const seen = new Set<Contact>();
    for (const item of batch) {
      if (item.due > sim.horizon.getTime()) report.notRun.afterHorizon++;
      else if (report.runs + runnable.length >= sim.maxRuns) report.notRun.overMaxRuns++;
      else if (seen.has(item.c.contact)) agenda.push(item); // the same contact again: in the next call
      else {
        seen.add(item.c.contact);
        runnable.push(item);
      }
    }
    if (!runnable.length) return;
    const unread = runnable.map((i) => i.c.contact).filter((c) => c.state === undefined);
    if (unread.length) {
      const states = await sim.contacts(unread.map((c) => c.streamId));
      for (const contact of unread) {
        contact.state = states.get(contact.streamId) ?? null;
        for (const p of contact.pending.splice(0)) apply(contact, p.type, p.data, p.at);
      }
    }
    const calls = runnable.filter((i) => i.c.contact.state?.communications.some((m) => m.id === i.c.id));
    if (!calls.length) return;
    report.runs += calls.length;
    const outcomes = await sim.run(calls.map((i) => ({
      contact: snapshot(i.c.contact.state!),
      sessionResults: i.status === 'COMPLETED' ? {} : null,
      flaggedCommunicationId: i.c.id,
    })), new Date(now));
    calls.forEach((item, n) => {
      const outcome = outcomes[n];
      const contact = item.c.contact;
      if (!outcome) return fail(item.c, 'no result from the strategies runtime');
      if (!outcome.ok) return fail(item.c, outcome.error);
      if (outcome.contact === null) return; // "no change"
      let changes: ContactChange[];
      try {
        changes = diffContact(contact.state!, outcome.contact as unknown as ContactDraft, {
          stages: sim.stages, now: new Date(now), newCommunicationId: (k) => followUpId(item.c.id, item.status, k),
        });
      } catch (error) {
        if (!(error instanceof InvalidContactError)) throw error;
        return fail(item.c, `InvalidContact: ${error.message}`);
      }
      applyChanges(contact, changes, item.c, now);
    });
  };

  // Bounded: every re-queue moves an item forward in time, windows are finite, and Aggregation runs are capped.
  for (let steps = 0; agenda.size && steps < 50 * comms.size + 1000; steps++) {
    const item = agenda.pop();
    if (item.kind === 'end') {
      const batch = [item];
      while (batch.length < AGGREGATION_BATCH_MAX && agenda.size && agenda.peek().kind === 'end' && agenda.peek().due - item.due < AGGREGATION_BATCH_MS) {
        batch.push(agenda.pop() as Item & { kind: 'end' });
      }
      await runEnds(batch);
      continue;
    }
    const c = item.c;
    if (!c.open || item.version !== c.version) continue; // cancelled or moved by a simulated Aggregation run
    const t = new Date(item.due);
    const d = decideFiring({ communicationId: c.id, stageName: c.stageName, startDate: c.startDate, endDate: c.endDate, contact: { phone: c.contact.phone, timezone: c.contact.timezone } }, rules, t);
    if (d.kind === 'missed') { settle(item, 'MISSED', item.due, d.reason); continue; }
    if (d.kind === 'error') { settle(item, 'ERROR', item.due, d.reason); continue; }
    if (d.kind === 'defer') { item.due = d.until.getTime(); item.slot = null; agenda.push(item); continue; }
    if (cap) {
      const until = cap.blockedUntil(c.contact.identities, t);
      if (until) {
        if (until >= d.windowEnd) settle(item, 'MISSED', item.due, `Missed: the frequency cap (${cap.describe()} per person) allows no start before the window closes`);
        else { item.due = until.getTime(); item.slot = null; agenda.push(item); }
        continue;
      }
    }
    const limit = policy.rateLimits[d.channel];
    if (limit && item.slot !== item.due) {
      let r = rates.get(d.channel);
      if (!r) rates.set(d.channel, (r = new SlotReserver(limit.perMinute, from.getTime())));
      const slot = r.reserve(item.due);
      if (slot !== item.due) {
        if (slot >= d.windowEnd.getTime()) settle(item, 'MISSED', item.due, `Missed: the rate limit of ${limit.perMinute} per minute on ${d.channel} left no slot before the window closed`);
        else { item.due = slot; item.slot = slot; agenda.push(item); }
        continue;
      }
    }
    cap?.record(c.contact.identities, t);
    settle(item, 'START', item.due, null, d.channel, d.variant, d.agent);
  }

  const stages = new Map<string, DryRunView['stages'][number]>();
  const timeline = new Map<string, DryRunView['contacts'][number]>();
  const totals = { contacts: 0, communications: 0, starts: 0, missed: 0, errors: 0, lastAt: null as string | null };
  const keys = [...new Set(args.communications.map((c) => c.contactKey))].sort();
  const shown = new Set(keys.slice(0, args.contactLimit));
  totals.contacts = keys.length;
  for (const c of comms.values()) {
    const step = results.get(c.id);
    if (!step) continue;
    totals.communications++;
    const s = stages.get(c.stageName) ?? { stageName: c.stageName, channel: rules.stages.get(c.stageName)?.channel ?? null, starts: 0, missed: 0, errors: 0, firstStart: null, lastStart: null };
    if (step.outcome === 'START') {
      totals.starts++; s.starts++;
      if (!s.firstStart || step.at < s.firstStart) s.firstStart = step.at;
      if (!s.lastStart || step.at > s.lastStart) s.lastStart = step.at;
    } else if (step.outcome === 'MISSED') { totals.missed++; s.missed++; } else { totals.errors++; s.errors++; }
    if (!totals.lastAt || step.at > totals.lastAt) totals.lastAt = step.at;
    stages.set(c.stageName, s);
    if (shown.has(c.contact.key)) {
      let entry = timeline.get(c.contact.key);
      if (!entry) {
        const zones = contactZones({ phone: c.contact.phone, timezone: c.contact.timezone }, rules.defaultTimezone);
        entry = { key: c.contact.key, name: c.contact.name, timeZones: [...zones.zones], timeZoneSource: zones.source, communications: [] };
        timeline.set(c.contact.key, entry);
      }
      entry.communications.push(step);
    }
  }
  for (const entry of timeline.values()) entry.communications.sort((a, b) => a.at.localeCompare(b.at));
  return {
    campaignId: args.campaignId, from: from.toISOString(),
    simulated: aggregation ? [...SIMULATED, SIMULATED_AGGREGATION] : SIMULATED,
    notSimulated: [
      aggregation ? NOT_SIMULATED_OUTCOMES : `Aggregation after each end: ${report.reason}. Follow-ups it would plan are not in the timeline.`,
      ...NOT_SIMULATED,
    ],
    totals,
    stages: [...stages.values()].sort((a, b) => a.stageName.localeCompare(b.stageName)),
    contacts: [...timeline.values()].sort((a, b) => a.key.localeCompare(b.key)),
    truncated: keys.length > shown.size,
    aggregation: report,
  };
}
