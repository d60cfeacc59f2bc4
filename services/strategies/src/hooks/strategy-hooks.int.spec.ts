import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { campaignStreamId, contactStreamId, deterministicEventId, newEvent, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore, type EventStore } from '@herald/event-store';
import { StoreBus, type BusSubscription } from '@herald/bus';
import { ensureCampaignLogSchema, readCampaignLog, type HeraldConfig } from '@herald/service-defaults';
import { rebuild } from '@herald/contact-model';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { StrategiesService } from '../strategies.service';
import { startStrategyConsumers } from '../strategies.workers';
import { ContactHook } from './contact-hook';
import { AggregationHandler } from '../aggregation/aggregation-handler';

// Real PostgreSQL event store, the embedded bus (catch-up subscriptions on
// the store's log) and real sandboxed Python workers: the hooks as wired in
// the service, fed by appended contact events.

// The seeds' examples, verbatim but for the indentation the document lost.
const SEED_AGGREGATION = `
async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    # Mark current communication as completed
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    # Check conversation outcome
    outcome = session_results.get("OutcomeStatus", "NO_RESPONSE")
    # Plan next action based on outcome
    if outcome == "NO_RESPONSE":
        # Schedule follow-up
        next_comm = Communication(
            name="Follow-up",
            stage_name="Second Attempt",
            start_date=datetime.now() + timedelta(days=1),
            # ... other settings
        )
        contact.communications.append(next_comm)
    return contact
`;

const SEED_INTERMEDIATE = `
async def on_agent_answer(contact: Contact, message: Message, **kwargs) -> Contact | None:
    # Update last interaction time
    contact.internal_data["last_message_time"] = datetime.now()
    # Check message content and update stage if needed
    if "promise to pay" in message.content.lower():
        contact.current_stage = "Payment Promised"
    return contact
`;

const FAILING_INTERMEDIATE = `
def on_agent_answer(contact, message, logger, **kwargs):
    logger.info("looking at %s", message.content)
    if message.content == "boom":
        amount = int(contact.parameters["amount_due"])
        raise ValueError(f"cannot handle {amount}")
    if message.content == "nowhere":
        contact.current_stage = "No Such Stage"
        return contact
    if message.content == "loop":
        while True:
            pass
    return None
`;

describe('strategy hooks on contact events', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let service: StrategiesService;
  let subscriptions: BusSubscription[];
  const ws = 'ws-hooks';
  const meta = { workspaceId: ws };
  const campaignId = randomUUID();
  const stages = ['First Contact', 'Second Attempt', 'Payment Promised'];
  const stage = (name: string) => ({ id: randomUUID(), name, description: name, channel: 'email_notification', agent: null, settings: {} });
  const aggregationId = randomUUID();
  const intermediateId = randomUUID();
  let key = 0;

  async function contactWithEndedCommunication(sessionResults: Record<string, string> = {}): Promise<{ stream: string; ended: RecordedEvent; communicationId: string; contactKey: string }> {
    const contactKey = `o:C-${++key}`;
    const stream = contactStreamId(campaignId, contactKey);
    const communicationId = randomUUID();
    await store.append(stream, [
      newEvent('ContactCreated', { campaignId, key: contactKey, objectId: `C-${key}`, externalId: null, name: 'John', email: 'john@example.com', phone: null, parameters: { amount_due: '250' }, uploadId: null, row: null }, meta),
      newEvent('ContactStageChanged', { from: null, to: 'First Contact' }, meta),
      newEvent('CommunicationPlanned', { communication: { id: communicationId, name: 'Initial Message', stageName: 'First Contact', startDate: new Date(Date.now() - 60_000).toISOString(), endDate: null } }, meta),
      newEvent('CommunicationStarted', { communicationId, campaignId, contactKey, stageName: 'First Contact', channel: 'email_notification', agent: null, variant: null, startedAt: new Date().toISOString(), sessionId: null }, meta),
      newEvent('CommunicationEnded', { communicationId, status: 'COMPLETED', sessionStatus: 'sent', result: null, finishedAt: new Date().toISOString(), sessionResults }, meta),
    ], 'no_stream');
    const events = await store.readStream(stream);
    return { stream, ended: events[events.length - 1], communicationId, contactKey };
  }

  async function message(stream: string, content: string, role: 'agent' | 'contact' = 'contact'): Promise<RecordedEvent> {
    const messageId = randomUUID();
    await store.append(stream, [newEvent('SessionMessageAdded', { communicationId: 'c', sessionId: 's-1', messageId, role, content, createdAt: new Date().toISOString() }, meta)], 'any');
    return (await store.readStream(stream)).find((e) => e.type === 'SessionMessageAdded' && (e.data as { messageId: string }).messageId === messageId)!;
  }

  const typesAfter = async (stream: string, revision: number) => (await store.readStream(stream, { fromRevision: revision + 1 })).map((e) => e.type);
  const logOf = (contactKey: string) => readCampaignLog(db.pool, campaignId, { contactKey });

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await ensureCampaignLogSchema(db.pool);
    await store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'Collections', description: 'd', labels: [] }, meta),
      ...stages.map((name) => newEvent('StageAdded', { stage: stage(name) }, meta)),
      newEvent('StrategyAdded', { strategy: { id: aggregationId, name: 'Follow-ups', description: 'd', type: 'AGGREGATION', functionName: 'run', fileName: 'agg.py', code: SEED_AGGREGATION, version: 1 } }, meta),
      newEvent('StrategyAdded', { strategy: { id: intermediateId, name: 'Promises', description: 'd', type: 'INTERMEDIATE_ANALYSIS', functionName: 'on_agent_answer', fileName: 'int.py', code: SEED_INTERMEDIATE, version: 1 } }, meta),
    ], 'no_stream');
    service = new StrategiesService(store, { strategyWorkers: 2 } as HeraldConfig);
    subscriptions = await startStrategyConsumers(new StoreBus(store), db.pool, store, service);
  });

  after(async () => {
    await Promise.all(subscriptions.map((s) => s.close()));
    await service.onApplicationShutdown();
    await store.close();
    await db.drop();
  });

  it('Aggregation runs when a communication ends, with it flagged, and plans the follow-up under ids derived from the cause', async () => {
    const { stream, ended, communicationId } = await contactWithEndedCommunication();
    const planned = await eventually(async () => (await store.readStream(stream)).find((e) => e.type === 'CommunicationPlanned' && e.revision > ended.revision), { what: 'the follow-up' });
    const data = planned.data as { communication: { id: string; name: string; stageName: string; startDate: string } };
    assert.equal(data.communication.name, 'Follow-up');
    assert.equal(data.communication.stageName, 'Second Attempt');
    assert.ok(Date.parse(data.communication.startDate) > Date.now() + 23 * 3600_000);
    assert.equal(planned.metadata.eventId, deterministicEventId(`agg:${ended.metadata.eventId}`, 0));
    assert.equal(data.communication.id, deterministicEventId(`agg:${ended.metadata.eventId}:communication`, 0));
    assert.equal(planned.metadata.causationId, ended.metadata.eventId);
    assert.equal(planned.metadata.strategyId, aggregationId);
    assert.equal(planned.metadata.strategyVersion, 1);
    // The flagged communication was already COMPLETED: the seed's status change is no change.
    assert.deepEqual(await typesAfter(stream, ended.revision), ['CommunicationPlanned']);
    assert.ok(rebuild(await store.readStream(stream))!.communications.some((c) => c.id === communicationId && c.status === 'COMPLETED'));
  });

  it('a redelivered CommunicationEnded appends nothing twice', async () => {
    const { stream, ended } = await contactWithEndedCommunication({ OutcomeStatus: 'NO_RESPONSE' });
    await eventually(async () => (await typesAfter(stream, ended.revision)).length === 1, { what: 'the first run' });
    const handler = new AggregationHandler(new ContactHook(store, db.pool, service.runner, service.campaigns));
    await handler.handle(ended);
    await handler.handle(ended);
    assert.deepEqual(await typesAfter(stream, ended.revision), ['CommunicationPlanned']);
  });

  it('a conflicting append makes it read the contact again and run the strategy again', async () => {
    const { stream, ended } = await contactWithEndedCommunication({ OutcomeStatus: 'SUCCESS' });
    let injected = false;
    // A real store whose first append from the hook is preceded by someone else's append to the same contact.
    const racing: EventStore = Object.create(store, {
      append: {
        value: async (...args: Parameters<EventStore['append']>) => {
          if (!injected) {
            injected = true;
            await store.append(stream, [newEvent('ContactParametersChanged', { parameters: { amount_due: '250', note: 'concurrent' } }, meta)], 'any');
          }
          return store.append(...args);
        },
      },
    });
    const code = 'def run(contact, session_results, logger, **kwargs):\n    contact.internal_data["seen_note"] = contact.parameters.get("note")\n    return contact\n';
    const campaign = await service.campaigns.load(ws, campaignId);
    const strategy = { ...campaign.strategies.find((s) => s.type === 'AGGREGATION')!, code, id: 'race', version: 7 };
    const hook = new ContactHook(racing, db.pool, service.runner, { load: async () => ({ ...campaign, strategies: [strategy] }) } as never);
    await new AggregationHandler(hook).handle(ended);
    assert.ok(injected);
    const state = rebuild(await store.readStream(stream))!;
    assert.equal(state.internalData.seen_note, 'concurrent', 'the second run saw the concurrent change');
  });

  it('Intermediate analysis runs on each message: a promise to pay moves the stage; datetimes in internal_data stay datetimes', async () => {
    const { stream } = await contactWithEndedCommunication({ OutcomeStatus: 'SUCCESS' });
    const hello = await message(stream, 'Hello, who is this?', 'agent');
    await eventually(async () => (await typesAfter(stream, hello.revision)).includes('ContactInternalDataChanged'), { what: 'the first analysis' });
    const promise = await message(stream, 'OK, I Promise to Pay on Friday');
    const changed = await eventually(async () => (await store.readStream(stream, { fromRevision: promise.revision + 1 })).find((e) => e.type === 'ContactStageChanged'), { what: 'the stage change' });
    assert.deepEqual(changed.data, { from: 'First Contact', to: 'Payment Promised' });
    assert.equal(changed.metadata.eventId, deterministicEventId(`int:${promise.metadata.eventId}`, 0));
    assert.equal(changed.metadata.strategyId, intermediateId);
    const state = rebuild(await store.readStream(stream))!;
    assert.match(String(state.internalData.last_message_time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
  });

  it('a strategy that raises, times out or returns an unknown stage leaves the contact unchanged and writes the campaign log', async () => {
    await store.append(campaignStreamId(campaignId), [
      newEvent('StrategyFileReplaced', { strategyId: intermediateId, fileName: 'int.py', code: FAILING_INTERMEDIATE, version: 2 }, meta),
      newEvent('CampaignSettingsChanged', { settings: { strategyTimeoutSeconds: 0.3 } }, meta),
    ], 'any');
    const { stream, contactKey } = await contactWithEndedCommunication({ OutcomeStatus: 'SUCCESS' });
    const settled = (await store.readStream(stream)).length; // SUCCESS: the Aggregation seed plans nothing
    for (const content of ['boom', 'nowhere', 'loop', 'fine']) await message(stream, content);
    const entries = await eventually(async () => {
      const log = await logOf(contactKey);
      return log.filter((e) => e.level === 'ERROR').length >= 3 && log.filter((e) => e.message === 'looking at fine').length === 1 ? log : false;
    }, { what: 'three errors and the last call in the campaign log' });
    const errors = entries.filter((e) => e.level === 'ERROR');
    const [boom, nowhere, loop] = errors;
    assert.match(boom.message, /^Intermediate analysis strategy "Promises" v2 failed for contact o:C-\d+; the contact is unchanged: ValueError: cannot handle 250$/);
    assert.equal(boom.contactKey, contactKey);
    assert.equal(boom.source, 'strategy:INTERMEDIATE_ANALYSIS');
    const details = boom.details as { strategyVersion: number; strategyName: string; traceback: string; messageId: string };
    assert.equal(details.strategyVersion, 2);
    assert.match(details.traceback, /File "strategy\.py", line 6, in on_agent_answer\n\s+raise ValueError/);
    assert.match(nowhere.message, /InvalidContact: current_stage: unknown stage "No Such Stage"/);
    assert.match(loop.message, /TimeoutError: strategy exceeded 300 ms/);
    assert.ok(entries.some((e) => e.level === 'INFO' && e.message === 'looking at boom' && (e.details as { strategyVersion: number }).strategyVersion === 2));
    // Only the four messages were appended: every run left the contact as it was.
    assert.deepEqual((await store.readStream(stream)).slice(settled).map((e) => e.type), ['SessionMessageAdded', 'SessionMessageAdded', 'SessionMessageAdded', 'SessionMessageAdded']);
  });

  it('Data Load through the API records the version it ran and applies the campaign\'s time limit', async () => {
    const loadId = randomUUID();
    await store.append(campaignStreamId(campaignId), [
      newEvent('StrategyAdded', { strategy: { id: loadId, name: 'Load', description: 'd', type: 'DATA_LOAD', functionName: 'run', fileName: 'load.py', code: 'def run(contact, existing_contact, logger, **kwargs):\n    while contact.name == "slow":\n        pass\n    contact.current_stage = "First Contact"\n    return contact\n', version: 1 } }, meta),
      newEvent('StrategyFileReplaced', { strategyId: loadId, fileName: 'load.py', code: 'def run(contact, existing_contact, logger, **kwargs):\n    while contact.name == "slow":\n        pass\n    contact.current_stage = "Second Attempt"\n    return contact\n', version: 2 }, meta),
    ], 'any');
    const snapshot = (name: string) => ({ objectId: name, externalId: null, name, email: 'x@example.com', phone: null, parameters: {}, currentStage: null, outcome: 'UNCERTAIN' as const, results: {}, internalData: {}, communications: [], createdAt: new Date().toISOString() });
    const out = await service.runDataLoad(ws, campaignId, [{ contact: snapshot('quick'), existing: null }, { contact: snapshot('slow'), existing: null }]);
    assert.equal(out.strategyVersion, 2);
    assert.equal(out.results[0].ok && (out.results[0].contact as { currentStage: string }).currentStage, 'Second Attempt');
    assert.equal(!out.results[1].ok && out.results[1].error, 'TimeoutError: strategy exceeded 300 ms');
  });
  it('Aggregation in bulk: many communications ending at once are served by one strategy call and one append per round', async () => {
    // The live consumers stop here: this test drives the handler itself, with deliveries it chooses.
    await Promise.all(subscriptions.map((s) => s.close()));
    subscriptions = [];
    // A fresh campaign whose Aggregation sets an outcome from the contact's own data, so every contact's result is checkable.
    const bulkCampaign = randomUUID();
    const bulkAggregation = 'def run(contact, session_results, logger, **kwargs):\n    n = int(contact.parameters["n"])\n    contact.outcome = "SUCCESS" if n % 2 == 0 else "NEGATIVE"\n    contact.current_stage = "Second Attempt"\n    return contact\n';
    await store.append(campaignStreamId(bulkCampaign), [
      newEvent('CampaignCreated', { campaignId: bulkCampaign, name: 'Bulk', description: 'd', labels: [] }, meta),
      ...stages.map((name) => newEvent('StageAdded', { stage: stage(name) }, meta)),
      newEvent('StrategyAdded', { strategy: { id: randomUUID(), name: 'Bulk', description: 'd', type: 'AGGREGATION', functionName: 'run', fileName: 'agg.py', code: bulkAggregation, version: 1 } }, meta),
    ], 'no_stream');
    const runs: number[] = [];
    const runner = service.runner;
    const original = runner.run.bind(runner);
    runner.run = (async (...args: Parameters<typeof original>) => { runs.push(args[2].length); return original(...args); }) as typeof runner.run;
    const hook = new ContactHook(store, db.pool, runner, service.campaigns);
    const handler = new AggregationHandler(hook);
    const N = 60;
    const ended: RecordedEvent[] = [];
    for (let n = 0; n < N; n++) {
      const contactKey = `o:B-${n}`;
      const stream = contactStreamId(bulkCampaign, contactKey);
      const communicationId = randomUUID();
      await store.append(stream, [
        newEvent('ContactCreated', { campaignId: bulkCampaign, key: contactKey, objectId: `B-${n}`, externalId: null, name: 'B', email: 'b@example.com', phone: null, parameters: { n: String(n) }, uploadId: null, row: null }, meta),
        newEvent('CommunicationPlanned', { communication: { id: communicationId, name: 'm', stageName: 'First Contact', startDate: new Date(Date.now() - 60_000).toISOString(), endDate: null } }, meta),
        newEvent('CommunicationStarted', { communicationId, campaignId: bulkCampaign, contactKey, stageName: 'First Contact', channel: 'email_notification', agent: null, variant: null, startedAt: new Date().toISOString(), sessionId: null }, meta),
        newEvent('CommunicationEnded', { communicationId, status: 'COMPLETED', sessionStatus: 'sent', result: null, finishedAt: new Date().toISOString(), sessionResults: {} }, meta),
      ], 'no_stream');
      const events = await store.readStream(stream);
      ended.push(events[events.length - 1]);
    }
    try {
      // The same contact twice in one delivery (a redelivery inside the batch): it runs once per event, in order, and appends nothing twice.
      await handler.handleBatch([...ended, ended[0]].map((event) => ({ event })));
      await handler.handleBatch(ended.map((event) => ({ event })));
    } finally {
      runner.run = original;
    }
    assert.deepEqual(runs.slice(0, 2), [N, 1], 'one call for the 60 contacts, one for the repeated contact in the next round');
    for (let n = 0; n < N; n++) {
      const events = await store.readStream(contactStreamId(bulkCampaign, `o:B-${n}`));
      assert.deepEqual(events.slice(4).map((e) => e.type), ['ContactStageChanged', 'ContactOutcomeSet'], `contact ${n}: ${events.map((e) => e.type)}`);
      assert.equal(rebuild(events)!.outcome, n % 2 === 0 ? 'SUCCESS' : 'NEGATIVE');
    }
  });
});
