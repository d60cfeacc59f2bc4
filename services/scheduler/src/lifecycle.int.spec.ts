import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { campaignStreamId, newEvent, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { ensureConsumerProgressSchema } from '@herald/bus';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { ensureSchedulerSchema, TimerLoop } from './scheduler-core';
import { SchedulerFixture } from '../test/fixture';
import { SchedulerService } from './scheduler.service';

const data = <T>(e: RecordedEvent) => e.data as T;

// Real PostgreSQL; a virtual clock drives the loop, so rules that wait hours are checked without waiting.
describe('scheduler: lifecycle, campaign state, sending hours, caps and rate limits', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let f: SchedulerFixture;
  const T = Date.now();
  let clock = new Date(T);
  const loop = () => new TimerLoop({ pool: db.pool, store, workerId: 'w', now: () => clock });
  /** A loop whose store runs `meanwhile` once, between the batch's claim and decision and its append. */
  const racingLoop = (meanwhile: () => Promise<void>) => {
    const racing = Object.create(store) as PostgresEventStore;
    const raced = { happened: false };
    racing.appendMany = async (appends) => {
      if (!raced.happened) {
        raced.happened = true;
        await meanwhile();
      }
      return store.appendMany(appends);
    };
    return { loop: new TimerLoop({ pool: db.pool, store: racing, workerId: 'racing', now: () => clock }), raced };
  };

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await ensureSchedulerSchema(db.pool);
    await ensureConsumerProgressSchema(db.pool);
    f = new SchedulerFixture(db, store);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('a cancelled plan becomes INTERRUPTED and its timer goes; a plan moved later fires at its new time', async () => {
    clock = new Date(T);
    const c = await f.campaign();
    const cancelled = await f.contact(c, 'cancelled', { start: 60_000, end: 3_600_000, base: T });
    const moved = await f.contact(c, 'moved', { start: -1000, end: 3_600_000, base: T });
    await store.append(cancelled.stream, [newEvent('CommunicationCancelled', { communicationId: cancelled.commId }, f.meta)], 1);
    await store.append(moved.stream, [newEvent('CommunicationUpdated', { communicationId: moved.commId, changes: { startDate: new Date(T + 120_000).toISOString() } }, f.meta)], 1);
    await f.project();
    const { rows } = await db.pool.query('SELECT communication_id FROM scheduler_communications WHERE communication_id = $1', [cancelled.commId]);
    assert.equal(rows.length, 0, 'the cancelled timer is gone');
    assert.equal(await loop().tick(), 0, 'the moved one is not due yet');
    clock = new Date(T + 130_000);
    assert.equal(await loop().tick(), 1);
    assert.deepEqual((await f.ends(moved.stream)).map((e) => e.type), ['CommunicationStarted']);
    assert.deepEqual(await f.ends(cancelled.stream), [], 'never fired');
  });

  it('a plan without an end date gets the campaign default window (settings.defaultWindowMinutes)', async () => {
    clock = new Date(T);
    const c = await f.campaign({ extra: [newEvent('CampaignSettingsChanged', { settings: { defaultWindowMinutes: 1 } }, f.meta)] });
    const inside = await f.contact(c, 'inside', { start: -30_000, end: null, base: T });
    const outside = await f.contact(c, 'outside', { start: -90_000, end: null, base: T });
    await f.project();
    await loop().tick();
    assert.deepEqual((await f.ends(inside.stream)).map((e) => e.type), ['CommunicationStarted']);
    assert.deepEqual((await f.ends(outside.stream)).map((e) => data<{ status: string }>(e).status), ['MISSED']);
  });

  it('nothing starts while the campaign stream says stopped, even before the projection knows', async () => {
    clock = new Date(T);
    const c = await f.campaign();
    const x = await f.contact(c, 'x', { start: -1000, end: 3_600_000, base: T });
    await f.project();
    await f.campaignEvents(c, newEvent('CampaignStopped', {}, f.meta)); // not projected
    assert.equal(await loop().tick(), 0);
    assert.deepEqual(await f.ends(x.stream), []);
  });

  it('a Stop between the decision and the append starts nothing: the campaign revision guards the batch', async () => {
    clock = new Date(T);
    const c = await f.campaign();
    const x = await f.contact(c, 'guarded', { start: -1000, end: 3_600_000, base: T });
    await f.project();
    // A Stop lands just before the loop's append.
    const { loop: l, raced } = racingLoop(async () => { await store.append(campaignStreamId(c), [newEvent('CampaignStopped', {}, f.meta)], 'any'); });
    assert.equal(await l.tick(), 0);
    assert.ok(raced.happened);
    assert.deepEqual(await f.ends(x.stream), [], 'not started after the Stop');
    const { rows } = await db.pool.query<{ fired: boolean; claimed_by: string | null }>('SELECT fired, claimed_by FROM scheduler_communications WHERE communication_id = $1', [x.commId]);
    assert.deepEqual(rows, [{ fired: false, claimed_by: null }], 'the timer waits for the next Start');
  });

  it('a plan moved later while its timer is claimed goes back to the timers and fires once, at its new time', async () => {
    clock = new Date(T);
    const c = await f.campaign();
    const x = await f.contact(c, 'rescheduled', { start: -1000, end: 3_600_000, base: T });
    await f.project();
    // The plan moves an hour later (and is projected) between the claim and the append.
    const { loop: l, raced } = racingLoop(async () => {
      await store.append(x.stream, [newEvent('CommunicationUpdated', { communicationId: x.commId, changes: { startDate: new Date(T + 3_000_000).toISOString() } }, f.meta)], 1);
      await f.project();
    });
    assert.equal(await l.tick(), 0);
    assert.ok(raced.happened);
    assert.deepEqual(await f.ends(x.stream), [], 'not started at the old time');
    const row = async () => (await db.pool.query<{ fired: boolean; claimed_by: string | null; due_at: Date }>(
      'SELECT fired, claimed_by, due_at FROM scheduler_communications WHERE communication_id = $1', [x.commId])).rows[0];
    assert.deepEqual(await row(), { fired: false, claimed_by: null, due_at: new Date(T + 3_000_000) }, 'a timer again, at the new time');
    clock = new Date(T + 3_000_000);
    assert.equal(await loop().tick(), 1);
    assert.equal(await loop().tick(), 0);
    assert.deepEqual((await f.ends(x.stream)).map((e) => [e.type, data<{ startedAt: string }>(e).startedAt]), [['CommunicationStarted', clock.toISOString()]]);
  });

  it('a claim older than the timeout whose firing went through is settled from the stream, not fired again', async () => {
    clock = new Date(T);
    const c = await f.campaign();
    const x = await f.contact(c, 'settled', { start: -1000, end: 3_600_000, base: T });
    await f.project();
    assert.equal(await loop().tick(), 1);
    // The projection has not seen the start when the claim expires (its claimer died right after the append, or the
    // projection is more than the timeout behind): another replica takes the claim over.
    clock = new Date(T + 120_000);
    assert.equal(await new TimerLoop({ pool: db.pool, store, workerId: 'other', now: () => clock }).tick(), 0);
    assert.deepEqual((await f.ends(x.stream)).map((e) => e.type), ['CommunicationStarted'], 'one start');
    const { rows } = await db.pool.query('SELECT status, fired, claimed_by, claimed_at FROM scheduler_communications WHERE communication_id = $1', [x.commId]);
    assert.deepEqual(rows, [{ status: 'PLANNED', fired: true, claimed_by: null, claimed_at: null }], 'settled: no longer anyone\'s to take over');
    clock = new Date(T + 240_000);
    assert.equal(await new TimerLoop({ pool: db.pool, store, workerId: 'third', now: () => clock }).tick(), 0);
    await f.project();
    assert.deepEqual((await db.pool.query('SELECT status FROM scheduler_communications WHERE communication_id = $1', [x.commId])).rows, [{ status: 'STARTED' }]);
  });

  it('FINISHED once nothing is PLANNED or STARTED, Aggregation has run on the last end, and no upload is active', async () => {
    clock = new Date(T);
    const aggregation = { id: 'agg', name: 'Agg', description: 'd', type: 'AGGREGATION' as const, functionName: 'run', fileName: 'a.py', code: '', version: 1 };
    const c = await f.campaign({ extra: [newEvent('StrategyAdded', { strategy: aggregation }, f.meta)] });
    const a = await f.contact(c, 'a', { start: -1000, end: 3_600_000, base: T });
    const b = await f.contact(c, 'b', { start: -1000, end: 3_600_000, base: T });
    await f.project();
    const l = loop();
    await l.tick();
    await f.project();
    const finished = async () => (await store.readStream(campaignStreamId(c))).filter((e) => e.type === 'CampaignFinished').length;
    assert.equal(await l.finisher.tryFinish(c, f.workspaceId), 'no', 'two communications are STARTED');

    // Dispatch ends both; an upload begins meanwhile.
    for (const x of [a, b]) {
      await store.append(x.stream, [newEvent('CommunicationEnded', { communicationId: x.commId, status: 'COMPLETED', sessionStatus: 'DELIVERED', result: null, finishedAt: clock.toISOString(), sessionResults: null }, f.meta)], 2); // 0 created, 1 planned, 2 started, 3 ended
    }
    await f.campaignEvents(c, newEvent('ContactsUploadStarted', { uploadId: 'u2', fileName: 'more.csv' }, f.meta));
    await f.project();
    assert.equal(await l.finisher.tryFinish(c, f.workspaceId), 'no', 'an upload may still add contacts');
    await f.campaignEvents(c, newEvent('ContactsUploadCompleted', { uploadId: 'u2', rowsRead: 0, imported: 0, created: 0, rejected: 0 }, f.meta));
    await f.project();
    assert.equal(await l.finisher.tryFinish(c, f.workspaceId), 'later', 'Aggregation has not run on the ends yet');

    // Aggregation ran for a (and planned nothing), and for b it plans a follow-up not yet projected.
    const progress = (stream: string, revision: number) => db.pool.query(
      `INSERT INTO herald_consumer_progress (consumer_group, stream_id, revision) VALUES ('strategies.aggregation', $1, $2)`, [stream, revision]);
    await progress(a.stream, 3);
    await store.append(b.stream, [newEvent('CommunicationPlanned', { communication: { id: 'follow-up-b', name: 'again', stageName: 'Reminder', startDate: new Date(T + 86_400_000).toISOString(), endDate: null } }, f.meta)], 3);
    await progress(b.stream, 4);
    assert.equal(await l.finisher.tryFinish(c, f.workspaceId), 'later', 'the follow-up is in the stream but not projected');
    await f.project();
    assert.equal(await l.finisher.tryFinish(c, f.workspaceId), 'no', 'a communication is PLANNED again');
    assert.equal(await finished(), 0);

    await store.append(b.stream, [newEvent('CommunicationCancelled', { communicationId: 'follow-up-b' }, f.meta)], 4);
    await f.project();
    await l.finisher.checkDue(0);
    assert.equal(await finished(), 1, 'CampaignFinished appended');
    await f.project();
    assert.equal(await l.finisher.tryFinish(c, f.workspaceId), 'no', 'and only once');
    assert.equal(await finished(), 1);
  });

  it('sending hours shift a start into the contact\'s hours within the window, or mark it MISSED', async () => {
    // 02:00 in Paris on the test's virtual day: outside 09:00-20:00.
    const day = new Date(T); day.setUTCHours(1, 0, 0, 0);
    const base = day.getTime();
    clock = new Date(base);
    const c = await f.campaign({ stages: [f.stage('Reminder', { sendingHours: { from: '09:00', to: '20:00' } })] });
    const shifted = await f.contact(c, 'shifted', { start: -1000, end: 12 * 3_600_000, base }, { phone: '+33612345678' });
    const missed = await f.contact(c, 'missed', { start: -1000, end: 3 * 3_600_000, base }, { phone: '+33612345678' });
    const tokyo = await f.contact(c, 'tokyo', { start: -1000, end: 3 * 3_600_000, base }, { parameters: { timezone: 'Asia/Tokyo' } });
    await f.project();
    assert.equal(await loop().tick(), 2, 'Tokyo (10:00 there) starts, the short Paris window is missed');
    assert.deepEqual((await f.ends(tokyo.stream)).map((e) => e.type), ['CommunicationStarted']);
    const [miss] = await f.ends(missed.stream);
    assert.match(data<{ result: string }>(miss).result, /sending hours 09:00-20:00 every day \(Europe\/Paris\)/);
    const { rows } = await db.pool.query<{ due_at: Date }>('SELECT due_at FROM scheduler_communications WHERE communication_id = $1', [shifted.commId]);
    const opening = rows[0].due_at.getTime();
    assert.equal(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(opening), '09:00');
    clock = new Date(opening - 1000);
    assert.equal(await loop().tick(), 0);
    clock = new Date(opening);
    assert.equal(await loop().tick(), 1);
    assert.equal(data<{ startedAt: string }>((await f.ends(shifted.stream))[0]).startedAt, new Date(opening).toISOString());
  });

  it('a frequency cap per person holds across the workspace\'s campaigns', async () => {
    clock = new Date(T);
    const service = new SchedulerService(db.pool, store);
    await service.setPolicy(f.workspaceId, { frequencyCap: { maxStarts: 1, perHours: 24 }, rateLimits: {} });
    const [c1, c2, c3] = [await f.campaign(), await f.campaign(), await f.campaign()];
    const first = await f.contact(c1, 'p1', { start: -1000, end: 48 * 3_600_000, base: T }, { email: 'Same@Example.com' });
    const waits = await f.contact(c2, 'p2', { start: -500, end: 48 * 3_600_000, base: T }, { email: 'same@example.com' });
    const misses = await f.contact(c3, 'p3', { start: -500, end: 3_600_000, base: T }, { email: null, phone: '+33 6 12 34 56 78' });
    await f.contact(c3, 'p3b', { start: -1000, end: 3_600_000, base: T }, { email: null, phone: '+33612345678' });
    await f.project();
    await loop().tick();
    assert.deepEqual((await f.ends(first.stream)).map((e) => e.type), ['CommunicationStarted']);
    assert.deepEqual(await f.ends(waits.stream), [], 'the same person waits');
    assert.match(data<{ result: string }>((await f.ends(misses.stream))[0]).result, /frequency cap \(1 per 24 h per person\)/);
    await f.project();
    clock = new Date(T + 24 * 3_600_000 + 1000);
    await loop().tick();
    assert.deepEqual((await f.ends(waits.stream)).map((e) => e.type), ['CommunicationStarted'], 'starts once the day has passed');
    await service.setPolicy(f.workspaceId, { frequencyCap: null, rateLimits: {} });
  });

  it('a channel rate limit delays starts without dropping any', async () => {
    clock = new Date(T);
    const service = new SchedulerService(db.pool, store);
    await service.setPolicy(f.workspaceId, { frequencyCap: null, rateLimits: { whatsapp: { perMinute: 120 } } });
    const c = await f.campaign({ stages: [f.stage('Chat', {}, 'whatsapp')] });
    const contacts = await Promise.all(Array.from({ length: 6 }, (_, i) => f.contact(c, `r${i}`, { start: -1000, end: 60_000, stage: 'Chat', base: T })));
    await f.project();
    const starts: string[] = [];
    for (let step = 0; step < 20 && starts.length < 6; step++) {
      await loop().tick();
      starts.splice(0, starts.length, ...(await Promise.all(contacts.map(async (x) => (await f.ends(x.stream))[0]))).filter(Boolean).map((e) => data<{ startedAt: string }>(e).startedAt));
      clock = new Date(clock.getTime() + 250);
    }
    assert.equal(starts.length, 6, 'every one started');
    const times = starts.map((s) => Date.parse(s) - T).sort((a, b) => a - b);
    assert.deepEqual(times.slice(0, 2), [0, 0], 'the burst of one second');
    for (let i = 2; i < times.length; i++) assert.ok(times[i] >= (i - 1) * 500, `start ${i} at ${times[i]} ms respects 2 per second`);
    await service.setPolicy(f.workspaceId, { frequencyCap: null, rateLimits: {} });
  });

  it('the dry run simulates the schedule on a virtual clock: windows, hours, rate limits; nothing is written', async () => {
    const c = await f.campaign({ running: false, stages: [f.stage('Mail', { sendingHours: { from: '09:00', to: '17:00', days: [1, 2, 3, 4, 5] } }), f.stage('Call', {}, 'sip')] });
    // Monday 2027-01-04 06:00 UTC.
    const base = Date.parse('2027-01-04T06:00:00Z');
    const early = await f.contact(c, 'early', { start: 0, end: 8 * 3_600_000, stage: 'Mail', base }, { parameters: { timezone: 'Europe/Paris' } });
    const late = await f.contact(c, 'late', { start: 0, end: 3_600_000, stage: 'Mail', base }, { parameters: { timezone: 'America/New_York' } });
    for (let i = 0; i < 3; i++) await f.contact(c, `call${i}`, { start: 0, end: 3_600_000, stage: 'Call', base });
    await f.project();
    const service = new SchedulerService(db.pool, store);
    await service.setPolicy(f.workspaceId, { frequencyCap: null, rateLimits: { sip: { perMinute: 1 } } });
    const head = await store.headPosition();
    const view = await service.dryRun(f.workspaceId, c, { from: '2027-01-04T06:00:00Z', contactLimit: 10 });
    const step = (key: string) => view.contacts.find((x) => x.key === key)!.communications[0];
    assert.equal(step('early').outcome, 'START');
    assert.equal(step('early').at, '2027-01-04T08:00:00.000Z', '09:00 in Paris');
    assert.equal(step('early').communicationId, early.commId);
    assert.equal(step('late').outcome, 'MISSED', 'New York opens after the window');
    assert.equal(late.commId, step('late').communicationId);
    assert.deepEqual(['call0', 'call1', 'call2'].map((k) => step(k).at), ['2027-01-04T06:00:00.000Z', '2027-01-04T06:01:00.000Z', '2027-01-04T06:02:00.000Z'], 'one call per minute');
    assert.deepEqual(view.totals, { contacts: 5, communications: 5, starts: 4, missed: 1, errors: 0, lastAt: '2027-01-04T08:00:00.000Z' });
    assert.deepEqual(view.stages.map((s) => [s.stageName, s.starts, s.missed]), [['Call', 3, 0], ['Mail', 1, 1]]);
    assert.ok(view.notSimulated.some((s) => /Aggregation/.test(s)));
    assert.equal(await store.headPosition(), head, 'no event written');
    await assert.rejects(service.dryRun(f.workspaceId, c, { from: 'yesterday' }), /from: "yesterday" is not an ISO-8601 date/);
    await assert.rejects(service.dryRun('other-ws', c, {}), /not found/);
    await service.setPolicy(f.workspaceId, { frequencyCap: null, rateLimits: {} });
  });
});
