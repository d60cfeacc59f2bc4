import { Logger } from '@nestjs/common';
import { campaignStreamId, causedBy, deterministicEventId, dispatchRequestsTopic, newEvent, type Event, type JsonObject, type RecordedEvent } from '@herald/contracts';
import type { EventStore } from '@herald/event-store';
import { rebuild as rebuildCampaign, type CampaignState } from '@herald/campaign-model';
import { rebuild as rebuildContact, type ContactEvent } from '@herald/contact-model';
import { runInDelivery } from '@herald/observability';
import type { ChannelAdapter, DispatchOutcome, ResolvedStage, StartResult } from './adapters/channel-adapter';
import { renderTemplate } from './adapters/template';
import type { AgentDefinition, AgentRegistry } from './agents/agent-registry';
import { integrationTypesFor } from './integrations/integration-types';
import type { IntegrationRecord, Integrations } from './integrations/integrations';
import type { SendLedger } from './send-ledger';
import { endCommunication, endCommunicationMany, loadContact, sessionMessage, type ContactSnapshot } from './sessions/contact-stream';
import type { Conversations } from './sessions/conversations';
import { normalizeAddress, optOutKey, type OptOuts } from './sessions/opt-outs';
import type { NewSession, SessionRecord, SessionStore } from './sessions/session-store';
import { resolveStage } from './sessions/stage-resolution';

/** Reported when a previous attempt died between claiming the send and recording its outcome. */
export const UNKNOWN_DELIVERY = 'The send was interrupted by a restart; it is not repeated, to never reach the contact twice';

export interface DispatchHandlerDeps {
  readonly store: EventStore;
  readonly ledger: SendLedger;
  readonly adapters: ReadonlyMap<string, ChannelAdapter>;
  readonly integrations: Integrations;
  readonly agents: AgentRegistry;
  readonly sessions: SessionStore;
  readonly optOuts: OptOuts;
  readonly conversations: Conversations;
  readonly publicUrl: string;
}

/** A send whose owner stopped saying it is alive this long ago died with its process. */
const STALE_SEND_MS = 120_000;
const HEARTBEAT_MS = 30_000;

/** Default contact silence before a conversation ends (a day), unless the agent or the stage says otherwise. */
export const DEFAULT_SILENCE_SECONDS = 86_400;

/** What the ledger keeps of an opened conversation, so that a redelivery can append its events again. */
interface OpenedRecord { open: true; sessionId: string | null; sent: string | null; variant: string | null; chosenHere: boolean }

/**
 * Turns a CommunicationStarted (the dispatch request on
 * `dispatch.requests.<channel>`) into one call to the channel: a one-way
 * channel ends the communication at once; a two-way channel opens a session
 * (CommunicationUpdated with the session id, the first message as
 * SessionMessageAdded) that the conversation engine carries on. The send
 * ledger makes the provider call happen at most once; every event id
 * derives from the communication id, so redeliveries append nothing new.
 */
export class DispatchHandler {
  private readonly logger = new Logger('Dispatch');
  /** Sends in progress in this process, so that a concurrent delivery of the same request waits for the outcome. */
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly d: DispatchHandlerDeps) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const started = recorded as RecordedEvent<ContactEvent>;
    if (started.type !== 'CommunicationStarted') return;
    const data = started.data;
    const { communicationId } = data;
    const workspaceId = started.metadata.workspaceId;
    const sessionId = deterministicEventId(`session:${communicationId}`);

    const claim = await this.d.ledger.claim(communicationId, workspaceId, data.channel);
    if (claim !== true) {
      if (claim.state === 'sending') {
        // A delivery of the same request is being sent right now: here (wait for it), or by another replica (retry later).
        const inFlight = this.inFlight.get(communicationId);
        if (inFlight) {
          await inFlight.catch(() => undefined);
          return this.handle(recorded);
        }
        if (Date.now() - claim.updatedAt.getTime() < STALE_SEND_MS) throw new Error(`communication ${communicationId} is being sent by another dispatcher; retrying later`);
        // The dispatcher that claimed it stopped while sending. What cannot reach anyone twice is started again here.
        if (this.d.adapters.get(data.channel)?.restartable) return this.owned(started, sessionId);
        await this.d.sessions.close(sessionId, 'error');
        const unknown: DispatchOutcome = { status: 'ERROR', sessionStatus: 'UNKNOWN', result: UNKNOWN_DELIVERY, sessionResults: null };
        await this.end(started, unknown);
        // Final from now on: later deliveries find the outcome instead of a send in progress.
        return this.d.ledger.record(communicationId, 'failed', unknown, null);
      }
      const previous = claim.outcome as OpenedRecord | DispatchOutcome;
      if ('open' in previous) return this.opened(started, previous);
      return this.end(started, previous);
    }

    return this.owned(started, sessionId);
  }

  /** Owned: send, record, end. A concurrent delivery in this process waits for all of it (until the ledger row is final). */
  private async owned(started: RecordedEvent<ContactEvent>, sessionId: string): Promise<void> {
    const communicationId = (started.data as { communicationId: string }).communicationId;
    const work = this.own(started, sessionId);
    this.inFlight.set(communicationId, work);
    try {
      await work;
    } finally {
      this.inFlight.delete(communicationId);
    }
  }

  /**
   * Many dispatch requests at once (a delivered batch of the senders'
   * consumer): one ledger claim for all of them, the contacts and campaigns
   * read once, the opt-outs checked in one query, the sends carried out
   * `concurrency` at once, the outcomes recorded and the communications
   * ended in one statement each. Requests claimed before (redeliveries) take
   * the one-by-one path. Resolves with the error of each request that failed
   * (null: done), in the order given.
   */
  async handleBatch(events: readonly RecordedEvent[], options: { concurrency: number; group: string }): Promise<(unknown | null)[]> {
    const { concurrency, group } = options;
    const errors: (unknown | null)[] = events.map(() => null);
    const seen = new Set<string>();
    const fresh: { index: number; started: RecordedEvent<ContactEvent> }[] = [];
    const again: number[] = [];
    const repeated: number[] = [];
    events.forEach((e, index) => {
      if (e.type !== 'CommunicationStarted') return;
      const id = (e.data as { communicationId: string }).communicationId;
      if (seen.has(id)) repeated.push(index);
      else {
        seen.add(id);
        fresh.push({ index, started: e as RecordedEvent<ContactEvent> });
      }
    });
    const claimed = await this.d.ledger.claimMany(fresh.map(({ started }) => ({
      communicationId: (started.data as { communicationId: string }).communicationId, workspaceId: started.metadata.workspaceId, channel: (started.data as { channel: string }).channel,
    })));
    const owned = fresh.filter(({ started }) => claimed.has((started.data as { communicationId: string }).communicationId));
    for (const { index, started } of fresh) if (!claimed.has((started.data as { communicationId: string }).communicationId)) again.push(index);
    // A concurrent delivery of one of these (here) waits for the batch, as in handle().
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    for (const { started } of owned) this.inFlight.set((started.data as { communicationId: string }).communicationId, done);
    const oneByOne = (indexes: number[]) => mapLimit(indexes.sort((x, y) => x - y), Math.max(1, Math.floor(concurrency / 4)), (index) =>
      runInDelivery({ group, topic: dispatchRequestsTopic((events[index].data as { channel: string }).channel) }, () => this.handle(events[index]))
        .then(() => null, (error: unknown) => (errors[index] = error)));
    try {
      await Promise.all([
        this.ownMany(owned.map((o) => o.started), concurrency, group).then((failures) => failures.forEach((f, i) => (errors[owned[i].index] = f))),
        oneByOne(again),
      ]);
    } finally {
      for (const { started } of owned) this.inFlight.delete((started.data as { communicationId: string }).communicationId);
      release();
    }
    // The same request twice in one batch: the second finds the first's outcome.
    await oneByOne(repeated);
    return errors;
  }

  private async ownMany(starts: readonly RecordedEvent<ContactEvent>[], concurrency: number, group: string): Promise<(unknown | null)[]> {
    if (!starts.length) return [];
    const ids = starts.map((e) => (e.data as { communicationId: string }).communicationId);
    const heartbeat = setInterval(() => void this.d.ledger.heartbeatMany(ids).catch(() => undefined), HEARTBEAT_MS);
    const outcomes: StartResult[] = [];
    const snapshots = new Map<string, ContactSnapshot>();
    try {
      const streams = [...new Set(starts.map((e) => e.streamId))];
      const read = this.d.store.readStreams ? await this.d.store.readStreams(streams) : new Map(await Promise.all(streams.map(async (id) => [id, await this.d.store.readStream(id)] as const)));
      const campaignIds = [...new Set(starts.map((e) => (e.data as { campaignId: string }).campaignId))];
      const campaigns = new Map(await Promise.all(campaignIds.map(async (id) => [id, rebuildCampaign(await this.d.store.readStream(campaignStreamId(id)))] as const)));
      const agents = new Map<string, Promise<AgentDefinition | null>>();
      const loaded = (e: RecordedEvent<ContactEvent>): Loaded => {
        const events = read.get(e.streamId) ?? [];
        const contact = rebuildContact(events);
        if (contact) snapshots.set(e.streamId, { contact, events });
        return {
          snapshot: snapshots.get(e.streamId) ?? null,
          campaign: campaigns.get((e.data as { campaignId: string }).campaignId) ?? null,
          agent: (ws, name) => {
            const key = `${ws}\u0000${name}`;
            if (!agents.has(key)) agents.set(key, this.d.agents.find(ws, name));
            return agents.get(key)!;
          },
        };
      };
      const prepared = await mapLimit(starts, concurrency, (e) => this.prepare(e, loaded(e)).catch((error: Error) => this.failed(e, error)));
      const ready = prepared.filter((p): p is Prepared => 'prepared' in p);
      const optedOut = await this.d.optOuts.optedOutAmong(ready.filter((p) => p.address).map((p) => ({ workspaceId: p.workspaceId, channel: p.stage.channel, address: p.address! })));
      const isOptedOut = (p: Prepared) => Boolean(p.address && optedOut.has(optOutKey(p.workspaceId, p.stage.channel, p.address)));
      const toOpen = ready.filter((p) => !isOptedOut(p)).map((p) => this.newSession(p)).filter((x): x is NewSession => x !== null);
      const batch: OpenBatch = { sessions: await this.d.sessions.openMany(toOpen), opened: [] };
      const sent = await mapLimit(prepared, concurrency, (p, i) => ('prepared' in p
        ? this.send(p, isOptedOut(p), batch).catch((error: Error) => this.failed(starts[i], error))
        : Promise.resolve(p)));
      outcomes.push(...sent);
      await this.d.sessions.openedMany(batch.opened);
    } finally {
      clearInterval(heartbeat);
    }
    const errors: (unknown | null)[] = starts.map(() => null);
    // The ledger rows first (from here on a redelivery never sends again), then the events.
    await this.d.ledger.recordMany(outcomes.map((r, i) => r.kind === 'ended'
      ? { communicationId: ids[i], state: r.outcome.status === 'ERROR' ? 'failed' as const : 'sent' as const, outcome: r.outcome, providerMessageId: r.outcome.providerMessageId ?? null }
      : { communicationId: ids[i], state: 'sent' as const, outcome: (r as unknown as { record: OpenedRecord }).record, providerMessageId: r.providerMessageId }));
    const ends: { started: RecordedEvent<ContactEvent>; outcome: DispatchOutcome }[] = [];
    const opens: { started: RecordedEvent<ContactEvent>; record: OpenedRecord }[] = [];
    const index = new Map(starts.map((e, i) => [e, i]));
    await mapLimit(outcomes, concurrency, async (r, i) => {
      try {
        if (r.kind === 'open') opens.push({ started: starts[i], record: (r as unknown as { record: OpenedRecord }).record });
        else {
          if (this.d.adapters.get((starts[i].data as { channel: string }).channel)?.reply) await this.d.sessions.close(deterministicEventId(`session:${ids[i]}`), 'error');
          ends.push({ started: starts[i], outcome: r.outcome });
        }
      } catch (error) {
        errors[i] = error;
      }
    });
    await this.openedMany(opens).catch((error) => opens.forEach((x) => (errors[index.get(x.started)!] = error)));
    await this.endMany(ends, snapshots, group).catch((error) => ends.forEach((x) => (errors[index.get(x.started)!] = error)));
    return errors;
  }

  private failed(started: RecordedEvent<ContactEvent>, error: Error): StartResult {
    const data = started.data as { channel: string; communicationId: string };
    this.logger.warn(`${data.channel} ${data.communicationId}: ${error.message}`);
    return { kind: 'ended', outcome: { status: 'ERROR', sessionStatus: error.name === 'LostResponseError' ? 'UNKNOWN' : 'NOT_SENT', result: `${data.channel}: ${error.message}`, sessionResults: null } };
  }

  private async own(started: RecordedEvent<ContactEvent>, sessionId: string): Promise<void> {
    const data = started.data as Extract<ContactEvent, { type: 'CommunicationStarted' }>['data'];
    const { communicationId } = data;
    const heartbeat = setInterval(() => void this.d.ledger.heartbeat(communicationId).catch(() => undefined), HEARTBEAT_MS);
    let result: StartResult;
    try {
      result = await this.start(started).catch((error: Error) => this.failed(started, error));
    } finally {
      clearInterval(heartbeat);
    }
    if (result.kind === 'ended') {
      await this.d.ledger.record(communicationId, result.outcome.status === 'ERROR' ? 'failed' : 'sent', result.outcome, result.outcome.providerMessageId ?? null);
      // Only a two-way channel may have opened a session before it ended.
      if (this.d.adapters.get(data.channel)?.reply) await this.d.sessions.close(sessionId, 'error');
      return this.end(started, result.outcome);
    }
    const record = (result as unknown as { record: OpenedRecord }).record;
    await this.d.ledger.record(communicationId, 'sent', record, result.providerMessageId);
    await this.opened(started, record);
  }

  /** Resolves stage, variant, agent and integration, checks the opt-out, and calls the channel (at most once: the caller owns the ledger row). */
  private async start(started: RecordedEvent<ContactEvent>): Promise<StartResult> {
    const prepared = await this.prepare(started, {
      snapshot: await loadContact(this.d.store, started.streamId),
      campaign: rebuildCampaign(await this.d.store.readStream(campaignStreamId((started.data as { campaignId: string }).campaignId))),
      agent: (ws, name) => this.d.agents.find(ws, name),
    });
    if (!('prepared' in prepared)) return prepared;
    return this.send(prepared, Boolean(prepared.address && (await this.d.optOuts.isOptedOut(prepared.workspaceId, prepared.stage.channel, prepared.address))));
  }

  /** What the send needs: the stage as this communication uses it (variant applied), the agent, the integration, the address. */
  private async prepare(started: RecordedEvent<ContactEvent>, loaded: Loaded): Promise<Prepared | StartResult> {
    const data = started.data as Extract<ContactEvent, { type: 'CommunicationStarted' }>['data'];
    const workspaceId = started.metadata.workspaceId;
    const adapter = this.d.adapters.get(data.channel);
    if (!adapter) return notSent(`channel "${data.channel}" has no adapter in this installation`);
    const { snapshot, campaign } = loaded;
    const stageDef = campaign?.stages.find((s) => s.name === data.stageName);
    if (!snapshot || !stageDef) return notSent(`stage "${data.stageName}" not found`);
    const stage = resolveStage(stageDef, data);
    // A Human stage's agent is a role people hold, not an agent of the registry.
    const agent = stage.channel === 'human' || !stage.agent ? null : await loaded.agent(workspaceId, stage.agent);
    if (stage.agent && !agent && stage.channel !== 'human') return notSent(`agent "${stage.agent}" is not in the registry`);
    const integration = await this.integrationFor(workspaceId, stage, agent);
    const address = addressFor(stage.channel, snapshot.contact, stage.settings);
    return { prepared: true, started, workspaceId, sessionId: deterministicEventId(`session:${data.communicationId}`), adapter, snapshot, campaign, stage, agent, integration, address };
  }

  /** The session a two-way conversation opens with (null: the channel or the stage has no conversation). */
  private newSession(p: Prepared): NewSession | null {
    const { started, workspaceId, sessionId, adapter, stage, agent, integration, address } = p;
    if (!adapter.reply || !agent) return null;
    const data = started.data as Extract<ContactEvent, { type: 'CommunicationStarted' }>['data'];
    const timeout = Number(stage.settings.silenceTimeoutSeconds ?? agent.silenceTimeoutSeconds ?? DEFAULT_SILENCE_SECONDS);
    return {
      sessionId, workspaceId, communicationId: data.communicationId, campaignId: data.campaignId, contactKey: data.contactKey, streamId: started.streamId,
      channel: stage.channel, integration: integration?.name ?? null, agent: agent.name, state: startStateOf(stage, agent),
      address: normalizeAddress(address), timeoutSeconds: timeout > 0 ? timeout : DEFAULT_SILENCE_SECONDS,
    };
  }

  /**
   * The send itself. In a batch (`batch`), the sessions were opened before
   * for all requests and what the channel answered is collected, to be
   * written for all at once.
   */
  private async send(p: Prepared, optedOut: boolean, batch?: OpenBatch): Promise<StartResult> {
    const { started, workspaceId, sessionId, adapter, snapshot, stage, agent, integration } = p;
    const data = started.data as Extract<ContactEvent, { type: 'CommunicationStarted' }>['data'];
    const contact = snapshot.contact;
    if (optedOut) {
      return { kind: 'ended', outcome: { status: 'ERROR', sessionStatus: 'OPTED_OUT', result: `the contact opted out of ${stage.channel}`, sessionResults: null } };
    }
    const session = this.newSession(p);
    const twoWay = session !== null;
    if (session && !batch) await this.d.sessions.open(session);
    let opening = openingOf(stage, contact);
    if (twoWay && opening === null && agent) {
      const record = batch?.sessions.get(sessionId) ?? (await this.d.sessions.get(sessionId));
      if (!record) throw new Error(`session ${sessionId} was not opened`);
      const ctx = await this.d.conversations.context(record, snapshot, { campaign: p.campaign, agent });
      const first = await this.d.conversations.backend(agent).turn(ctx, 'start');
      opening = first.reply;
      if (first.state) await this.d.sessions.update(sessionId, { state: first.state });
    }
    const result = await adapter.start({ workspaceId, communicationId: data.communicationId, sessionId, contact, stage, agent, integration, opening, publicUrl: this.d.publicUrl });
    if (result.kind === 'ended') return stage.chosenHere ? { kind: 'ended', outcome: { ...result.outcome, chosenVariant: stage.variant } } : result;
    // Open without a conversation (a Human task): the communication stays STARTED until whoever holds it ends it.
    if (!twoWay) return Object.assign(result, { record: { open: true, sessionId: null, sent: null, variant: stage.variant, chosenHere: stage.chosenHere } as OpenedRecord });
    const opened = {
      sessionId, workspaceId, thread: result.thread ?? {}, address: result.address ? normalizeAddress(result.address) : null,
      integration: integration?.name ?? null, providerMessageId: result.providerMessageId,
    };
    if (batch) batch.opened.push(opened);
    else {
      await this.d.sessions.update(sessionId, { thread: opened.thread, ...(opened.address ? { address: opened.address } : {}) });
      if (opened.providerMessageId && opened.integration) await this.d.sessions.rememberProviderMessage(workspaceId, opened.integration, opened.providerMessageId, sessionId);
    }
    return Object.assign(result, { record: { open: true, sessionId, sent: result.sent, variant: stage.variant, chosenHere: stage.chosenHere } as OpenedRecord });
  }

  /** The opened conversation's events: the session id (and a variant chosen here) on the communication, the first message. */
  private async opened(started: RecordedEvent<ContactEvent>, record: OpenedRecord): Promise<void> {
    const events = this.openedEvents(started, record);
    if (events.length) await this.d.store.append(started.streamId, events, 'any');
  }

  /** opened() for a batch: one append for all streams (each once); a stream that appears again goes on its own. */
  private async openedMany(opens: readonly { started: RecordedEvent<ContactEvent>; record: OpenedRecord }[]): Promise<void> {
    const streams = new Set<string>();
    const together: { streamId: string; expectedRevision: 'any'; events: Event[] }[] = [];
    const alone: typeof opens[number][] = [];
    for (const o of opens) {
      const events = this.openedEvents(o.started, o.record);
      if (!events.length) continue;
      if (streams.has(o.started.streamId)) alone.push(o);
      else {
        streams.add(o.started.streamId);
        together.push({ streamId: o.started.streamId, expectedRevision: 'any', events });
      }
    }
    if (together.length) await this.d.store.appendMany(together);
    for (const o of alone) await this.opened(o.started, o.record);
  }

  private openedEvents(started: RecordedEvent<ContactEvent>, record: OpenedRecord): Event[] {
    const data = started.data as { communicationId: string };
    const changes = { ...(record.sessionId ? { sessionId: record.sessionId } : {}), ...(record.chosenHere ? { variant: record.variant } : {}) };
    const events = Object.keys(changes).length
      ? [newEvent('CommunicationUpdated', { communicationId: data.communicationId, changes }, causedBy(started, { eventId: deterministicEventId(`opened:${data.communicationId}`) }))]
      : [];
    if (record.sent && record.sessionId) {
      events.push(sessionMessage(`opening:${data.communicationId}`, { communicationId: data.communicationId, sessionId: record.sessionId, role: 'agent', content: record.sent }, causedBy(started)) as (typeof events)[number]);
    }
    return events;
  }

  /** CommunicationEnded once, only while the communication is still STARTED. */
  private async end(started: RecordedEvent<ContactEvent>, outcome: DispatchOutcome): Promise<void> {
    const communicationId = (started.data as { communicationId: string }).communicationId;
    const { chosenVariant, ...ended } = outcome;
    const before = chosenVariant
      ? [newEvent('CommunicationUpdated', { communicationId, changes: { variant: chosenVariant } }, causedBy(started, { eventId: deterministicEventId(`variant:${communicationId}`) }))]
      : [];
    await endCommunication(this.d.store, started.streamId, communicationId, ended, causedBy(started), before);
  }

  /** The ends of a batch: CommunicationEnded (and a variant chosen here) in one append per channel; what does not fit (a stream that moved on) ends one by one. */
  private async endMany(ends: readonly { started: RecordedEvent<ContactEvent>; outcome: DispatchOutcome }[], snapshots: ReadonlyMap<string, ContactSnapshot>, group: string): Promise<void> {
    const byChannel = new Map<string, typeof ends[number][]>();
    for (const x of ends) {
      const channel = (x.started.data as { channel: string }).channel;
      byChannel.set(channel, [...(byChannel.get(channel) ?? []), x]);
    }
    for (const [channel, items] of byChannel) {
      // Counted as sends of this channel, as a delivery of its topic would be.
      await runInDelivery({ group, topic: dispatchRequestsTopic(channel) }, () => endCommunicationMany(this.d.store, items.map(({ started, outcome }) => {
        const communicationId = (started.data as { communicationId: string }).communicationId;
        const { chosenVariant, ...ended } = outcome;
        const before = chosenVariant
          ? [newEvent('CommunicationUpdated', { communicationId, changes: { variant: chosenVariant } }, causedBy(started, { eventId: deterministicEventId(`variant:${communicationId}`) }))]
          : [];
        return { streamId: started.streamId, snapshot: snapshots.get(started.streamId) ?? null, communicationId, outcome: ended, meta: causedBy(started), before };
      })));
    }
  }

  /** The stage's integration setting, else the first of the agent's integrations that fits the channel, else the workspace's only one. */
  private async integrationFor(workspaceId: string, stage: ResolvedStage, agent: AgentDefinition | null): Promise<IntegrationRecord | null> {
    const types = integrationTypesFor(stage.channel);
    const named = typeof stage.settings.integration === 'string' ? stage.settings.integration : null;
    if (named) return this.d.integrations.ofType<Record<string, unknown>>(workspaceId, named, types);
    for (const name of agent?.integrations ?? []) {
      const found = await this.d.integrations.ofType<Record<string, unknown>>(workspaceId, name, types);
      if (found) return found;
    }
    if (!types.length) return null;
    const all = (await this.d.integrations.list(workspaceId)).filter((i) => (types as string[]).includes(i.type));
    return all.length === 1 ? this.d.integrations.find(workspaceId, all[0].name) : null;
  }
}

const notSent = (result: string): StartResult => ({ kind: 'ended', outcome: { status: 'ERROR', sessionStatus: 'NOT_SENT', result, sessionResults: null } });

/** The state the conversation starts in: the stage's Start state, else the agent's first start state. */
function startStateOf(stage: ResolvedStage, agent: AgentDefinition): string | null {
  const s = stage.settings.startState;
  return typeof s === 'string' && s ? s : agent.startStates[0] ?? null;
}

/** The stage's own first message (start phrase, email template), rendered; null lets the agent open. */
export function openingOf(stage: ResolvedStage, contact: import('@herald/contracts').ContactState): string | null {
  const s = stage.settings as { startPhrase?: unknown; template?: unknown; inputType?: unknown };
  if (typeof s.startPhrase === 'string' && s.startPhrase) return renderTemplate(s.startPhrase, contact);
  if (typeof s.template === 'string' && s.template && stage.channel.startsWith('email')) return renderTemplate(s.template, contact, { html: s.inputType === 'html' });
  return null;
}

/** Where the contact is reached on a channel (docs/channels.md): phone, email, or a parameter the channel needs. */
export function addressFor(channel: string, contact: import('@herald/contracts').ContactState, settings: Readonly<Record<string, unknown>> = {}): string | null {
  const p = contact.parameters;
  const param = (name: string) => (typeof p[name] === 'string' || typeof p[name] === 'number' ? String(p[name]) : null);
  switch (channel) {
    case 'email_notification':
    case 'email_communication':
      return contact.email;
    case 'telegram':
      return param(typeof settings.chatIdParameter === 'string' ? settings.chatIdParameter : 'telegram_chat_id');
    case 'mobile_push':
      return param('push_token') ?? (p.web_push_subscription && typeof p.web_push_subscription === 'object' ? String((p.web_push_subscription as { endpoint?: string }).endpoint ?? '') || null : param('web_push_subscription'));
    case 'human':
    case 'no_communication':
      return null;
    default:
      return contact.phone;
  }
}

/** What prepare() reads: loaded one by one, or once for a whole batch. */
interface Loaded {
  readonly snapshot: ContactSnapshot | null;
  readonly campaign: CampaignState | null;
  readonly agent: (workspaceId: string, name: string) => Promise<AgentDefinition | null>;
}

interface Prepared {
  readonly prepared: true;
  readonly started: RecordedEvent<ContactEvent>;
  readonly workspaceId: string;
  readonly sessionId: string;
  readonly adapter: ChannelAdapter;
  readonly snapshot: ContactSnapshot;
  readonly campaign: CampaignState | null;
  readonly stage: ReturnType<typeof resolveStage>;
  readonly agent: AgentDefinition | null;
  readonly integration: IntegrationRecord | null;
  readonly address: string | null;
}

/** A batch's conversations: opened before the sends, what the channels answered written after them for all at once. */
interface OpenBatch {
  readonly sessions: ReadonlyMap<string, SessionRecord>;
  readonly opened: { sessionId: string; workspaceId: string; thread: JsonObject; address: string | null; integration: string | null; providerMessageId: string | null }[];
}

/** Maps with at most `limit` calls of `fn` running at once; results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }));
  return results;
}
