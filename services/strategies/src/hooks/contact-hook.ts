import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { causedBy, deterministicEventId, DomainError, newEvent, type ContactState, type RecordedEvent } from '@herald/contracts';
import { readStreams, WrongExpectedRevisionError, type EventStore } from '@herald/event-store';
import { diffContact, InvalidContactError, rebuild, type ContactDraft } from '@herald/contact-model';
import type { StrategyType } from '@herald/campaign-model';
import { writeCampaignLog, type CampaignLogEntry } from '@herald/service-defaults';
import type { StrategyHook, StrategyInput, StrategyRunner } from '../runtime/strategy-runner';
import { CampaignStrategies } from '../campaign-strategies/campaign-strategies';
import { strategyLogEntries } from './strategy-log';

const MAX_ATTEMPTS = 5;

export interface ContactHookSpec {
  readonly type: Exclude<StrategyType, 'DATA_LOAD'>;
  readonly hook: Exclude<StrategyHook, 'data-load'>;
  /** Deterministic event ids: `<prefix>:<cause event id>`. */
  readonly prefix: string;
  /** The strategy's input for this contact, or null when there is nothing to run. */
  input(contact: ContactState): StrategyInput | null;
  /** Extra details for the campaign log (communication id, message id). */
  readonly details: Record<string, unknown>;
}

export const snapshot = ({ campaignId: _c, key: _k, updatedAt: _u, revision: _r, ...rest }: ContactState) => rest;

/**
 * Runs a campaign's strategy on the contact an event is about and appends
 * the difference with the revision it read; if the contact changed
 * meanwhile, it is read again and the strategy runs again. Event ids derive
 * from the cause, so a redelivery or a retry after a crash appends nothing
 * twice; their metadata records the strategy and the version that ran.
 */
export class ContactHook {
  private readonly logger = new Logger('StrategyHooks');

  constructor(
    private readonly store: EventStore,
    private readonly pool: Pool,
    private readonly runner: StrategyRunner,
    private readonly campaigns: CampaignStrategies,
  ) {}

  async run(cause: RecordedEvent, spec: ContactHookSpec): Promise<void> {
    const workspaceId = cause.metadata.workspaceId;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const contact = rebuild(await this.store.readStream(cause.streamId));
      if (!contact) return;
      let campaign;
      try {
        campaign = await this.campaigns.load(workspaceId, contact.campaignId);
      } catch (error) {
        if (error instanceof DomainError && error.code === 'not_found') return;
        throw error;
      }
      if (campaign.deleted) return;
      const strategy = CampaignStrategies.code(campaign, spec.type);
      if (!strategy) return;
      const input = spec.input(contact);
      if (!input) return;
      const now = new Date();
      const [outcome] = await this.runner.run(strategy, spec.hook, [input], { campaign: CampaignStrategies.info(campaign), now }, CampaignStrategies.runOptions(campaign));
      const where = { campaignId: contact.campaignId, workspaceId, contactKey: contact.key };
      if (!outcome.ok) {
        await writeCampaignLog(this.pool, strategyLogEntries(where, strategy, outcome, spec.details));
        return;
      }
      if (outcome.contact === null) { // "no change"
        await writeCampaignLog(this.pool, strategyLogEntries(where, strategy, outcome, spec.details));
        return;
      }
      let changes;
      try {
        changes = diffContact(contact, outcome.contact as unknown as ContactDraft, {
          stages: campaign.stages.map((s) => s.name),
          now,
          newCommunicationId: (n) => deterministicEventId(`${spec.prefix}:${cause.metadata.eventId}:communication`, n),
        });
      } catch (error) {
        if (!(error instanceof InvalidContactError)) throw error;
        const invalid = { ...outcome, error: `InvalidContact: ${error.message}`, traceback: '' };
        await writeCampaignLog(this.pool, strategyLogEntries(where, strategy, invalid, { ...spec.details, field: error.field }));
        return;
      }
      const events = changes.map((c, i) => newEvent(c.type, c.data, causedBy(cause, {
        eventId: deterministicEventId(`${spec.prefix}:${cause.metadata.eventId}`, i),
        strategyId: strategy.id,
        strategyVersion: strategy.version,
      })));
      try {
        if (events.length) await this.store.append(cause.streamId, events, contact.revision);
        await writeCampaignLog(this.pool, strategyLogEntries(where, strategy, outcome, spec.details));
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        this.logger.debug(`contact ${contact.key} changed meanwhile; running the ${spec.type} strategy again`);
      }
    }
    throw new Error(`${spec.type} strategy for ${cause.streamId}@${cause.revision}: the contact kept changing; the bus will deliver the event again`);
  }

  /**
   * run() for many causes at once, as an upload or a busy campaign delivers
   * them: the contacts read in one round trip, one strategy call per campaign
   * for all of its contacts (the runtime batches them into its workers), one
   * atomic append for all the changes, one log write. A cause whose contact
   * appears twice waits for the next round. If any contact changed meanwhile
   * (the atomic append fails on its revision), each cause of the round runs
   * alone with run(), which reads again and retries: the deterministic event
   * ids make the repeated work append nothing twice.
   */
  async runBatch(items: readonly { cause: RecordedEvent; spec: ContactHookSpec }[]): Promise<void> {
    let pending = [...items];
    while (pending.length) {
      const seen = new Set<string>();
      const round: typeof pending = [];
      const later: typeof pending = [];
      for (const item of pending) {
        (seen.has(item.cause.streamId) ? later : round).push(item);
        seen.add(item.cause.streamId);
      }
      pending = later;
      await this.runRound(round);
    }
  }

  private async runRound(round: readonly { cause: RecordedEvent; spec: ContactHookSpec }[]): Promise<void> {
    const streams = await readStreams(this.store, round.map((r) => r.cause.streamId));
    const campaigns = new Map<string, Awaited<ReturnType<CampaignStrategies['load']>> | null>();
    type Work = { cause: RecordedEvent; spec: ContactHookSpec; contact: ContactState; input: StrategyInput };
    const byCampaign = new Map<string, Work[]>();
    for (const { cause, spec } of round) {
      const contact = rebuild(streams.get(cause.streamId) ?? []);
      if (!contact) continue;
      const key = `${cause.metadata.workspaceId}\u0000${contact.campaignId}`;
      if (!campaigns.has(key)) {
        campaigns.set(key, await this.campaigns.load(cause.metadata.workspaceId, contact.campaignId).catch((error) => {
          if (error instanceof DomainError && error.code === 'not_found') return null;
          throw error;
        }));
      }
      const input = spec.input(contact);
      if (!input) continue;
      if (!byCampaign.has(key)) byCampaign.set(key, []);
      byCampaign.get(key)!.push({ cause, spec, contact, input });
    }
    const appends: { streamId: string; expectedRevision: number; events: ReturnType<typeof newEvent>[] }[] = [];
    const logs: CampaignLogEntry[] = [];
    for (const [key, works] of byCampaign) {
      const campaign = campaigns.get(key);
      if (!campaign || campaign.deleted) continue;
      // One strategy type per hook: a round mixes hooks only through different consumers, never here.
      for (const type of new Set(works.map((w) => w.spec.type))) {
        const group = works.filter((w) => w.spec.type === type);
        const strategy = CampaignStrategies.code(campaign, type);
        if (!strategy) continue;
        const now = new Date();
        const outcomes = await this.runner.run(strategy, group[0].spec.hook, group.map((w) => w.input), { campaign: CampaignStrategies.info(campaign), now }, CampaignStrategies.runOptions(campaign));
        group.forEach((w, i) => {
          const outcome = outcomes[i];
          const where = { campaignId: w.contact.campaignId, workspaceId: w.cause.metadata.workspaceId, contactKey: w.contact.key };
          if (!outcome.ok || outcome.contact === null) {
            logs.push(...strategyLogEntries(where, strategy, outcome, w.spec.details));
            return;
          }
          let changes;
          try {
            changes = diffContact(w.contact, outcome.contact as unknown as ContactDraft, {
              stages: campaign.stages.map((s) => s.name),
              now,
              newCommunicationId: (n) => deterministicEventId(`${w.spec.prefix}:${w.cause.metadata.eventId}:communication`, n),
            });
          } catch (error) {
            if (!(error instanceof InvalidContactError)) throw error;
            logs.push(...strategyLogEntries(where, strategy, { ...outcome, error: `InvalidContact: ${error.message}`, traceback: '' }, { ...w.spec.details, field: error.field }));
            return;
          }
          const events = changes.map((c, n) => newEvent(c.type, c.data, causedBy(w.cause, {
            eventId: deterministicEventId(`${w.spec.prefix}:${w.cause.metadata.eventId}`, n),
            strategyId: strategy.id,
            strategyVersion: strategy.version,
          })));
          if (events.length) appends.push({ streamId: w.cause.streamId, expectedRevision: w.contact.revision, events });
          logs.push(...strategyLogEntries(where, strategy, outcome, w.spec.details));
        });
      }
    }
    try {
      if (appends.length) await this.store.appendMany(appends);
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      this.logger.debug(`a contact changed meanwhile; running the round's ${round.length} strategy calls one by one`);
      for (const { cause, spec } of round) await this.run(cause, spec);
      return;
    }
    await writeCampaignLog(this.pool, logs);
  }
}
