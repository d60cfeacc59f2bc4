import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { deterministicEventId, newEvent, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { rebuild } from '@herald/contact-model';
import { createTestDatabase, eventually, freePort, startService, type ServiceProcess, type TestDatabase } from '@herald/testing';
import { ensureSchedulerSchema, MISSED_WINDOW, TimerLoop } from './scheduler-core';
import { SchedulerFixture } from '../test/fixture';

// The strategy writes down how it was called, and plans a retry only for a MISSED end.
const AGGREGATION = `
def run(contact, session_results, logger, **kwargs):
    flagged = [c for c in contact.communications if c.flagged]
    ended = flagged[0]
    contact.internal_data["seen"] = {
        "flagged": [c.id for c in flagged],
        "status": ended.status.status,
        "result": ended.status.result,
        "session_results": session_results,
    }
    if ended.status == CommunicationStatus.MISSED:
        retry = kwargs["now"] + timedelta(days=1)
        contact.communications.append(Communication(name="Retry", stage_name="Second Attempt", start_date=retry, end_date=retry + timedelta(hours=8)))
    return contact
`;

// Real PostgreSQL and Kafka: the scheduler's projection and timer loop in this process, the strategies service
// as its own process (distributed mode: its relay publishes the store's log to Kafka, its Aggregation consumer reads it).
describe('scheduler + strategies: a communication whose window passed is MISSED, then Aggregation runs for it', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let f: SchedulerFixture;
  let strategies: ServiceProcess;
  const aggregationId = randomUUID();

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await ensureSchedulerSchema(db.pool);
    f = new SchedulerFixture(db, store, 'ws-missed-aggregation');
    strategies = startService('strategies', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      KAFKA_TOPIC_PREFIX: `it-missed-${randomBytes(4).toString('hex')}.`,
      STRATEGIES_GRPC_URL: `127.0.0.1:${await freePort()}`,
    });
    await eventually(async () => {
      if (strategies.child.exitCode !== null) throw new Error(`the strategies service exited\n${strategies.output()}`);
      return /ready/.test(strategies.output()) ? true : undefined;
    }, { what: 'the strategies service to start', timeoutMs: 60_000 });
  });
  after(async () => {
    await strategies?.kill();
    await store?.close();
    await db?.drop();
  });

  it('the MISSED end (written by the timer loop) runs the Aggregation strategy with that communication flagged and its status MISSED', async (t) => {
    const campaignId = await f.campaign({
      stages: [f.stage('Reminder'), f.stage('Second Attempt')],
      extra: [newEvent('StrategyAdded', { strategy: { id: aggregationId, name: 'Retry', description: 'd', type: 'AGGREGATION', functionName: 'run', fileName: 'agg.py', code: AGGREGATION, version: 1 } }, f.meta)],
    });
    // Its window closed an hour ago; the other contact's is open.
    const late = await f.contact(campaignId, 'late', { start: -2 * 3_600_000, end: -3_600_000 });
    const onTime = await f.contact(campaignId, 'on-time', { start: -1000, end: 3_600_000 });
    await f.project();
    assert.equal(await new TimerLoop({ pool: db.pool, store, workerId: 'it' }).tick(), 2);

    const [missed] = await f.ends(late.stream);
    assert.equal(missed.type, 'CommunicationEnded');
    assert.deepEqual([(missed.data as { status: string }).status, (missed.data as { result: string }).result], ['MISSED', MISSED_WINDOW]);
    assert.equal(missed.metadata.eventId, deterministicEventId(`fire:${late.commId}`));
    assert.deepEqual((await f.ends(onTime.stream)).map((e) => e.type), ['CommunicationStarted'], 'the open window started instead');

    let caused: RecordedEvent[];
    try {
      caused = await eventually(async () => {
        const after = await store.readStream(late.stream, { fromRevision: missed.revision + 1 });
        return after.some((e) => e.type === 'ContactInternalDataChanged') ? after : undefined;
      }, { what: 'the Aggregation run on the MISSED end', timeoutMs: 60_000 });
    } catch (error) {
      t.diagnostic(strategies.output().slice(-4000));
      throw error;
    }
    for (const e of caused) {
      assert.equal(e.metadata.causationId, missed.metadata.eventId, `${e.type} is caused by the MISSED end`);
      assert.equal(e.metadata.strategyId, aggregationId);
    }
    const state = rebuild(await store.readStream(late.stream))!;
    assert.deepEqual(state.internalData.seen, { flagged: [late.commId], status: 'MISSED', result: MISSED_WINDOW, session_results: {} });
    const retry = state.communications.find((c) => c.name === 'Retry');
    assert.ok(retry, 'the strategy planned a retry');
    assert.deepEqual([retry.stageName, retry.status], ['Second Attempt', 'PLANNED']);
    const retryIn = Date.parse(retry.startDate) - Date.parse((missed.data as { finishedAt: string }).finishedAt);
    assert.ok(retryIn > 23 * 3_600_000 && retryIn < 25 * 3_600_000, `a day after the end (${retryIn} ms)`);

    // The retry is a timer again; the contact whose communication started saw no Aggregation run.
    await f.project();
    const { rows } = await db.pool.query('SELECT status, fired FROM scheduler_communications WHERE communication_id = $1', [retry.id]);
    assert.deepEqual(rows, [{ status: 'PLANNED', fired: false }]);
    assert.equal((await store.readStream(onTime.stream)).some((e) => e.metadata.strategyId === aggregationId), false);
  });
});
