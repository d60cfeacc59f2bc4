import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Global, Module, type INestApplication } from '@nestjs/common';
import { contactStreamId, newEvent, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { EVENT_STORE, PG_POOL } from '@herald/service-defaults';
import { instrumentEventStore } from '@herald/observability';
import { createTestDatabase, TEST_ADMIN_KEY, type TestDatabase } from '@herald/testing';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EventStore } from '@herald/event-store';
import { REPO_ROOT } from '@herald/testing';
import { createHttpApp } from '../http-app';
import { OpsModule } from './ops.module';
import { AuthModule } from '../auth/auth.module';

/** The routes need an admin (replay) or a viewer: the test platform's bootstrap admin key. */
const fetch = (url: string, init: RequestInit = {}) => globalThis.fetch(url, { ...init, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...(init.headers ?? {}) } });

const WS = 'default';
const execFileAsync = promisify(execFile);
const at = (iso: string) => ({ workspaceId: WS, timestamp: iso });

describe('gateway operations routes: replay, time travel, metrics', () => {
  let db: TestDatabase;
  let app: INestApplication;
  let base: string;
  let theStore: EventStore;
  const store = () => theStore;
  const campaignId = randomUUID();
  const key = 'o:42';

  before(async () => {
    db = await createTestDatabase();
    const store = (theStore = instrumentEventStore(await PostgresEventStore.create(db.pool, { notify: false }), 'test'));
    process.env.HERALD_BOOTSTRAP_ADMIN_KEY = TEST_ADMIN_KEY;
    @Global()
    @Module({ providers: [{ provide: EVENT_STORE, useValue: store }, { provide: PG_POOL, useValue: db.pool }], exports: [EVENT_STORE, PG_POOL] })
    class StoreModule {}
    @Module({ imports: [StoreModule, AuthModule, OpsModule] })
    class TestRoot {}
    app = await createHttpApp(TestRoot);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;

    await store.append(`campaign-${campaignId}`, [newEvent('CampaignCreated', { campaignId, name: 'C', description: '', labels: [] }, at('2026-01-01T00:00:00.000Z'))], 'no_stream');
    await store.append(contactStreamId(campaignId, key), [
      newEvent('ContactCreated', { campaignId, key, objectId: '42', externalId: null, name: 'Ann', email: 'ann@example.com', phone: null, parameters: {}, uploadId: null, row: 1 }, at('2026-01-02T00:00:00.000Z')),
      newEvent('ContactStageChanged', { from: null, to: '1 Reminder' }, at('2026-01-03T00:00:00.000Z')),
      newEvent('ContactOutcomeSet', { outcome: 'SUCCESS', previous: 'UNCERTAIN' }, at('2026-01-04T00:00:00.000Z')),
    ], 'no_stream');
    // Another workspace's event: never served by this workspace's replay.
    await store.append(`campaign-${randomUUID()}`, [newEvent('CampaignCreated', { campaignId: 'x', name: 'X', description: '', labels: [] }, { workspaceId: 'other' })], 'no_stream');
    await store.append(contactStreamId(campaignId, 'o:43'), [
      newEvent('ContactCreated', { campaignId, key: 'o:43', objectId: '43', externalId: null, name: 'Bob', email: null, phone: '+100', parameters: {}, uploadId: null, row: 2 }, at('2026-01-05T00:00:00.000Z')),
    ], 'no_stream');
  });
  after(async () => {
    await app?.close();
    await db?.drop();
  });

  const json = async (res: Response): Promise<any> => res.json();
  const lines = async (query: string) => {
    const res = await fetch(`${base}/api/events${query}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const text = await res.text();
    return { head: Number(res.headers.get('x-herald-head-position')), events: text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as RecordedEvent) };
  };

  it('streams the whole history of the workspace as NDJSON in position order', async () => {
    const { head, events } = await lines('');
    assert.equal(head, 6);
    assert.deepEqual(events.map((e) => e.type), ['CampaignCreated', 'ContactCreated', 'ContactStageChanged', 'ContactOutcomeSet', 'ContactCreated']);
    assert.deepEqual(events.map((e) => e.position), [1, 2, 3, 4, 6]);
    assert.equal(events[1].streamId, contactStreamId(campaignId, key));
    assert.deepEqual(events[2].data, { from: null, to: '1 Reminder' });
  });

  it('resumes after a position and honours limit and category', async () => {
    const first = await lines('?limit=2');
    assert.deepEqual(first.events.map((e) => e.position), [1, 2]);
    const rest = await lines(`?after=${first.events[1].position}`);
    assert.deepEqual(rest.events.map((e) => e.position), [3, 4, 6]);
    const campaigns = await lines('?category=campaign');
    assert.deepEqual(campaigns.events.map((e) => e.type), ['CampaignCreated']);
  });

  it('rejects bad replay parameters with the field named', async () => {
    for (const [q, field] of [['?after=-1', 'after'], ['?after=abc', 'after'], ['?limit=0', 'limit'], ['?category=orders', 'category']]) {
      const res = await fetch(`${base}/api/events${q}`);
      assert.equal(res.status, 400, q);
      assert.equal((await json(res)).field, field);
    }
  });

  it('answers a contact as it was at past moments', async () => {
    const asOf = async (iso: string) => fetch(`${base}/api/campaigns/${campaignId}/contacts/${encodeURIComponent(key)}/as-of?at=${encodeURIComponent(iso)}`);
    const before = await asOf('2026-01-01T12:00:00Z');
    assert.equal(before.status, 404);
    assert.match((await json(before)).message, /did not exist yet/);

    const day2 = await json(await asOf('2026-01-02T12:00:00Z'));
    assert.equal(day2.contact.currentStage, null);
    assert.equal(day2.contact.outcome, 'UNCERTAIN');
    assert.equal(day2.revision, 0);

    const day3 = await json(await asOf('2026-01-03T00:00:00Z'));
    assert.equal(day3.contact.currentStage, '1 Reminder');
    assert.equal(day3.contact.outcome, 'UNCERTAIN');

    const now = await json(await asOf('2030-01-01T00:00:00Z'));
    assert.equal(now.contact.outcome, 'SUCCESS');
    assert.equal(now.eventsApplied, 3);
    assert.equal(now.eventsTotal, 3);
  });

  it('refuses a malformed moment and an unknown contact', async () => {
    const bad = await fetch(`${base}/api/campaigns/${campaignId}/contacts/o:42/as-of?at=yesterday`);
    assert.equal(bad.status, 400);
    assert.equal((await json(bad)).field, 'at');
    const missing = await fetch(`${base}/api/campaigns/${campaignId}/contacts/o:999/as-of?at=2026-01-03T00:00:00Z`);
    assert.equal(missing.status, 404);
  });

  it('the replay CLI writes the whole history and resumes from its checkpoint without duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-replay-'));
    const out = join(dir, 'events.ndjson');
    const checkpoint = join(dir, 'position');
    const run = () => execFileAsync(process.execPath, ['-r', './tools/register.js', 'tools/herald-replay.ts', '--url', base, '--out', out, '--checkpoint', checkpoint], { cwd: REPO_ROOT, env: { ...process.env, HERALD_API_KEY: TEST_ADMIN_KEY } });
    await run();
    const first = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).position);
    assert.deepEqual(first, [1, 2, 3, 4, 6]);
    // The checkpoint is the head the API reported: past the last contact event (the audit records of these very calls follow it).
    const saved = Number(readFileSync(checkpoint, 'utf8'));
    assert.ok(saved >= 6, String(saved));
    const appended = await store().append(contactStreamId(campaignId, 'o:44'), [newEvent('ContactCreated', { campaignId, key: 'o:44', objectId: '44', externalId: null, name: 'Cy', email: 'cy@example.com', phone: null, parameters: {}, uploadId: null, row: 3 }, at('2026-01-06T00:00:00.000Z'))], 'no_stream');
    await run();
    const second = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).position);
    assert.deepEqual(second, [1, 2, 3, 4, 6, appended.position]);
    const bad = await execFileAsync(process.execPath, ['-r', './tools/register.js', 'tools/herald-replay.ts', '--after', 'x'], { cwd: REPO_ROOT }).catch((e) => e);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--after: must be an integer >= 0, got x/);
  });

  it('serves Prometheus metrics including the events appended through the instrumented store', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /herald_events_appended_total\{category="contact",type="ContactCreated"\} 3/);
    assert.match(body, /# TYPE herald_consumer_lag_events gauge/);
    assert.match(body, /# TYPE herald_strategy_duration_seconds histogram/);
  });
});
