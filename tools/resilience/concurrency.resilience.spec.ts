import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newEvent } from '@herald/contracts';
import { PostgresEventStore, WrongExpectedRevisionError } from '@herald/event-store';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { api } from '../../services/gateway/e2e/walking-skeleton';
import { startPlatform, type Platform } from './platform';
import { reportCase, since } from './report';

/*
 * Issue 9, point 9: 50 concurrent commands on one campaign. At the event
 * store, one append wins per expected revision and the others are told so
 * (WrongExpectedRevisionError); writers that retry all land, each once. Through
 * the API (gateway -> gRPC -> campaigns, real PostgreSQL), every command
 * either succeeds (its change is in the campaign) or answers a clear 409:
 * no 500, no lost update.
 */
const N = 50;

describe('resilience: 50 concurrent commands on one campaign', () => {
  describe('event store: 50 appends at one expected revision', () => {
    let db: TestDatabase;
    let store: PostgresEventStore;
    before(async () => {
      db = await createTestDatabase('herald_res_conc');
      store = await PostgresEventStore.create(db.pool, { notify: false });
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    it('one wins per expected revision; writers that retry all land once, in a gapless stream', async () => {
      const started = Date.now();
      const stream = 'campaign-00000000-0000-4000-8000-000000000009';
      await store.append(stream, [newEvent('CampaignCreated', { n: -1 }, { workspaceId: 'ws' })], 'no_stream');

      // Round 1: everyone expects revision 0.
      const outcomes = await Promise.allSettled(Array.from({ length: N }, (_, i) => store.append(stream, [newEvent('StageAdded', { writer: i }, { workspaceId: 'ws' })], 0)));
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one append at revision 0');
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof WrongExpectedRevisionError, String(o.reason));

      // Round 2: every writer retries (read, append at what it read) until its event is in.
      const winsAt = new Map<number, number>();
      let conflicts = 0;
      await Promise.all(Array.from({ length: N }, async (_, i) => {
        for (;;) {
          const last = (await store.readStream(stream)).at(-1)!.revision;
          try {
            await store.append(stream, [newEvent('StageAdded', { writer: `retry-${i}` }, { workspaceId: 'ws' })], last);
            winsAt.set(last, (winsAt.get(last) ?? 0) + 1);
            return;
          } catch (error) {
            if (!(error instanceof WrongExpectedRevisionError)) throw error;
            conflicts += 1;
          }
        }
      }));
      assert.ok([...winsAt.values()].every((n) => n === 1), 'never two appends at the same expected revision');
      const events = await store.readStream(stream);
      assert.deepEqual(events.map((e) => e.revision), Array.from({ length: 2 + N }, (_, r) => r), 'revisions 0..51, no gap');
      const writers = events.slice(2).map((e) => (e.data as { writer: string }).writer).sort();
      assert.deepEqual(writers, Array.from({ length: N }, (_, i) => `retry-${i}`).sort(), 'every retrying writer once');
      reportCase({
        point: 9, name: '50 concurrent appends at one expected revision (event store)', faults: 2 * N, checked: 2 * N, lost: 0, duplicates: 0, ms: since(started),
        notes: `round 1: 1 of ${N} won, ${N - 1} WrongExpectedRevisionError; round 2: ${conflicts} conflicts retried, ${N} landed`,
      });
    });
  });

  describe('API: 50 concurrent commands through the gateway', () => {
    let platform: Platform;
    before(async () => {
      platform = await startPlatform({ prefix: 'herald_res_api', services: ['strategies', 'dispatch', 'campaigns', 'gateway'] });
    });
    after(async () => platform?.stop());

    it('each command succeeds with its change kept, or answers 409 with a reason; none is lost', { timeout: 300_000 }, async (t) => {
      const started = Date.now();
      try {
        const c = await api(platform.base, 'POST', '/api/campaigns', { name: 'Concurrency', description: 'fifty at once' });
        assert.equal(c.status, 201);
        const id = c.body.id as string;
        const answers = await Promise.all(Array.from({ length: N }, (_, i) =>
          api(platform.base, 'POST', `/api/campaigns/${id}/stages`, { name: `Stage ${i}`, description: `added by call ${i}`, channel: 'no_communication', settings: {} })));
        const byStatus = answers.reduce<Record<number, number>>((m, a) => ({ ...m, [a.status]: (m[a.status] ?? 0) + 1 }), {});
        t.diagnostic(`statuses: ${JSON.stringify(byStatus)}`);
        for (const a of answers) {
          assert.ok(a.status === 201 || a.status === 409, `201 or 409, got ${a.status}: ${JSON.stringify(a.body)}`);
          if (a.status === 409) {
            assert.equal(a.body.error, 'conflict', JSON.stringify(a.body));
            assert.match(a.body.message, /changed by other requests at the same time.*try again/, JSON.stringify(a.body));
          }
        }
        const succeeded = answers.map((a, i) => (a.status === 201 ? `Stage ${i}` : null)).filter((s): s is string => s !== null);
        assert.ok(succeeded.length >= 1, 'at least one command won');
        // No lost update: the campaign holds exactly the stages whose command succeeded.
        const campaign = await api(platform.base, 'GET', `/api/campaigns/${id}`);
        assert.deepEqual(campaign.body.stages.map((s: { name: string }) => s.name).sort(), [...succeeded].sort());
        const { rows } = await platform.db.pool.query(`select revision, type from herald_events where stream_id = $1 order by revision`, [`campaign-${id}`]);
        assert.deepEqual(rows.map((r) => r.revision), rows.map((_, i) => i), 'a gapless campaign stream');
        assert.equal(rows.filter((r) => r.type === 'StageAdded').length, succeeded.length, 'one StageAdded per successful command');
        reportCase({
          point: 9, name: '50 concurrent commands on one campaign (API)', faults: N, checked: N, lost: 0, duplicates: 0, ms: since(started),
          notes: `${succeeded.length} × 201, ${byStatus[409] ?? 0} × 409 conflict, ${N - succeeded.length - (byStatus[409] ?? 0)} other`,
        });
      } catch (error) {
        t.diagnostic(platform.logs());
        throw error;
      }
    });
  });
});
