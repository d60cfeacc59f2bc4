import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { campaignStreamId, contactStreamId, newEvent, type Event, type EndStatus, type JsonObject, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { StoreBus, type BusSubscription } from '@herald/bus';
import { ensureCampaignLogSchema, type HeraldConfig } from '@herald/service-defaults';
import { rebuild } from '@herald/contact-model';
import { createTestDatabase, eventually, type TestDatabase } from '@herald/testing';
import { StrategiesService } from '../strategies.service';
import { startStrategyConsumers } from '../strategies.workers';

// Real PostgreSQL event store, the embedded bus and real sandboxed Python workers, as in
// hooks/strategy-hooks.int.spec.ts (which covers COMPLETED): here the other three ends.
// The strategy writes down what it was given, then reacts to the way the communication ended.
const AGGREGATION = `
def run(contact, session_results, logger, **kwargs):
    flagged = [c for c in contact.communications if c.flagged]
    ended = flagged[0]
    contact.internal_data["seen"] = {
        "flagged": [c.id for c in flagged],
        "status": ended.status.status,
        "session_status": ended.status.session_status,
        "result": ended.status.result,
        "session_results": session_results,
    }
    if ended.status == CommunicationStatus.INTERRUPTED:
        # The contact asked to stop: no more attempts.
        contact.outcome = OutcomeStatus.NEGATIVE
        contact.results["ResultFlag"] = False
        for comm in contact.communications:
            if comm.status == "PLANNED":
                comm.status = CommunicationStatus.INTERRUPTED
    elif ended.status == "ERROR":
        contact.outcome = "error"
        contact.results["DeliveryError"] = ended.status.result
    elif ended.status == CommunicationStatus.MISSED:
        retry = kwargs["now"] + timedelta(days=1)
        contact.communications.append(Communication(name="Retry", stage_name="Second Attempt", start_date=retry, end_date=retry + timedelta(hours=8)))
        contact.current_stage = "Second Attempt"
    return contact
`;

describe('Aggregation on INTERRUPTED, ERROR and MISSED ends', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let service: StrategiesService;
  let subscriptions: BusSubscription[];
  const ws = 'ws-aggregation-ends';
  const meta = { workspaceId: ws };
  const campaignId = randomUUID();
  const aggregationId = randomUUID();
  let key = 0;

  /**
   * A contact with two communications: the first ends as `status` (started before unless it was MISSED, which the
   * scheduler appends for one that never started), the second is still planned for next week.
   */
  async function contactEnding(status: EndStatus, end: { sessionStatus: string | null; result: string | null; sessionResults: JsonObject | null }) {
    const contactKey = `o:E-${++key}`;
    const stream = contactStreamId(campaignId, contactKey);
    const endedId = randomUUID();
    const laterId = randomUUID();
    const hour = 3600_000;
    const events: Event[] = [
      newEvent('ContactCreated', { campaignId, key: contactKey, objectId: `E-${key}`, externalId: null, name: 'Eve', email: 'eve@example.com', phone: null, parameters: {}, uploadId: null, row: null }, meta),
      newEvent('ContactStageChanged', { from: null, to: 'First Contact' }, meta),
      newEvent('CommunicationPlanned', { communication: { id: endedId, name: 'First', stageName: 'First Contact', startDate: new Date(Date.now() - 2 * hour).toISOString(), endDate: new Date(Date.now() - hour).toISOString() } }, meta),
      newEvent('CommunicationPlanned', { communication: { id: laterId, name: 'Later', stageName: 'Second Attempt', startDate: new Date(Date.now() + 168 * hour).toISOString(), endDate: null } }, meta),
    ];
    if (status !== 'MISSED') {
      events.push(newEvent('CommunicationStarted', { communicationId: endedId, campaignId, contactKey, stageName: 'First Contact', channel: 'email_notification', agent: null, variant: null, startedAt: new Date(Date.now() - 2 * hour).toISOString(), sessionId: 's-1' }, meta));
    }
    events.push(newEvent('CommunicationEnded', { communicationId: endedId, status, ...end, finishedAt: new Date().toISOString() }, meta));
    await store.append(stream, events, 'no_stream');
    const all = await store.readStream(stream);
    const ended = all[all.length - 1];
    // The strategy's run is over once its first change (internal_data, always written) is there.
    const caused = await eventually(async () => {
      const after = await store.readStream(stream, { fromRevision: ended.revision + 1 });
      return after.some((e) => e.type === 'ContactInternalDataChanged') ? after : undefined;
    }, { what: `the Aggregation run on the ${status} end`, timeoutMs: 20_000 });
    return { stream, ended, endedId, laterId, caused, state: rebuild(await store.readStream(stream))! };
  }

  function assertCausedByTheRun(caused: RecordedEvent[], ended: RecordedEvent) {
    for (const e of caused) {
      assert.equal(e.metadata.causationId, ended.metadata.eventId, `${e.type} is caused by the end`);
      assert.equal(e.metadata.strategyId, aggregationId);
      assert.equal(e.metadata.strategyVersion, 1);
    }
  }

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await ensureCampaignLogSchema(db.pool);
    await store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'Ends', description: 'd', labels: [] }, meta),
      ...['First Contact', 'Second Attempt'].map((name) => newEvent('StageAdded', { stage: { id: randomUUID(), name, description: name, channel: 'email_notification', agent: null, settings: {} } }, meta)),
      newEvent('StrategyAdded', { strategy: { id: aggregationId, name: 'Ends', description: 'd', type: 'AGGREGATION', functionName: 'run', fileName: 'agg.py', code: AGGREGATION, version: 1 } }, meta),
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

  it('INTERRUPTED (the contact opted out): that communication flagged, its session results passed in; the strategy closes the contact', async () => {
    const sessionResults = { Reason: 'asked to stop', transcript: { turns: 3, last: ['agent', 'contact'] } };
    const { ended, endedId, laterId, caused, state } = await contactEnding('INTERRUPTED', { sessionStatus: 'OPTED_OUT', result: null, sessionResults });
    assert.deepEqual(state.internalData.seen, { flagged: [endedId], status: 'INTERRUPTED', session_status: 'OPTED_OUT', result: null, session_results: sessionResults });
    assert.equal(state.outcome, 'NEGATIVE');
    assert.equal(state.results.ResultFlag, false);
    assert.match(String(state.results.ResultDatetime), /^\d{4}-\d\d-\d\dT/, 'the platform dates the result');
    // The other planned communication was cancelled; the ended one keeps its own end.
    const cancelled = caused.find((e) => e.type === 'CommunicationCancelled');
    assert.deepEqual(cancelled?.data, { communicationId: laterId });
    assert.deepEqual(state.communications.map((c) => [c.id, c.status]), [[endedId, 'INTERRUPTED'], [laterId, 'INTERRUPTED']]);
    assert.deepEqual(caused.map((e) => e.type).sort(), ['CommunicationCancelled', 'ContactInternalDataChanged', 'ContactOutcomeSet', 'ContactResultsChanged']);
    assertCausedByTheRun(caused, ended);
  });

  it('ERROR (not delivered): that communication flagged, with the session results and result the channel reported; the strategy records the error', async () => {
    const sessionResults = { sessionId: 's-1', code: 550 };
    const { ended, endedId, laterId, caused, state } = await contactEnding('ERROR', { sessionStatus: 'NOT_SENT', result: 'email_notification: 550 mailbox unavailable', sessionResults });
    assert.deepEqual(state.internalData.seen, { flagged: [endedId], status: 'ERROR', session_status: 'NOT_SENT', result: 'email_notification: 550 mailbox unavailable', session_results: sessionResults });
    assert.equal(state.outcome, 'ERROR');
    assert.equal(state.results.DeliveryError, 'email_notification: 550 mailbox unavailable');
    assert.equal(state.communications.find((c) => c.id === laterId)?.status, 'PLANNED', 'the next attempt stays planned');
    assert.deepEqual(caused.map((e) => e.type).sort(), ['ContactInternalDataChanged', 'ContactOutcomeSet', 'ContactResultsChanged']);
    assertCausedByTheRun(caused, ended);
  });

  it('MISSED (the window passed before it could start): that communication flagged, session_results {} since the channel reported none; the strategy plans a retry', async () => {
    const { ended, endedId, laterId, caused, state } = await contactEnding('MISSED', { sessionStatus: null, result: 'Missed: the planned window had passed', sessionResults: null });
    assert.deepEqual(state.internalData.seen, { flagged: [endedId], status: 'MISSED', session_status: null, result: 'Missed: the planned window had passed', session_results: {} });
    assert.equal(state.currentStage, 'Second Attempt');
    assert.equal(state.outcome, 'UNCERTAIN', 'outcome untouched');
    const retry = state.communications.find((c) => c.id !== endedId && c.id !== laterId);
    assert.ok(retry, 'a third communication was planned');
    assert.equal(retry.name, 'Retry');
    assert.equal(retry.stageName, 'Second Attempt');
    assert.equal(retry.status, 'PLANNED');
    assert.ok(Date.parse(retry.startDate) > Date.now() + 23 * 3600_000);
    assert.equal(Date.parse(retry.endDate!) - Date.parse(retry.startDate), 8 * 3600_000);
    assert.equal(state.communications.find((c) => c.id === endedId)?.status, 'MISSED');
    assert.deepEqual(caused.map((e) => e.type).sort(), ['CommunicationPlanned', 'ContactInternalDataChanged', 'ContactStageChanged']);
    assertCausedByTheRun(caused, ended);
  });
});
