import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { newEvent, type RecordedEvent } from '@herald/contracts';
import { readStreams, WrongExpectedRevisionError, type EventStore } from './event-store';

export interface StoreFixture {
  store: EventStore;
  /** Opens a second store on the same data, as a restarted process would. */
  reopen(): Promise<EventStore>;
  dispose(): Promise<void>;
}

const ev = (type: string, data: unknown = {}, eventId?: string) =>
  newEvent(type, data, { workspaceId: 'ws-test', ...(eventId ? { eventId } : {}) });

/**
 * The behaviour every EventStore implementation must show. Each
 * implementation's integration test calls this with a factory.
 */
export function eventStoreContract(name: string, createFixture: () => Promise<StoreFixture>): void {
  describe(`EventStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: EventStore;
    const stream = (p = 'contact-') => `${p}${randomUUID()}`;

    before(async () => {
      fx = await createFixture();
      store = fx.store;
    });
    after(async () => fx.dispose());

    it('appends and reads a stream in revision order with envelopes intact', async () => {
      const s = stream();
      const r1 = await store.append(s, [ev('A', { n: 1 }), ev('B', { n: 2, nested: { x: [1, 'y'] } })], 'no_stream');
      assert.equal(r1.nextRevision, 1);
      assert.equal(r1.duplicate, false);
      const r2 = await store.append(s, [ev('C')], 1);
      assert.equal(r2.nextRevision, 2);
      assert.ok(r2.position > r1.position);
      const events = await store.readStream(s);
      assert.deepEqual(events.map((e) => [e.type, e.revision]), [['A', 0], ['B', 1], ['C', 2]]);
      assert.deepEqual(events[1].data, { n: 2, nested: { x: [1, 'y'] } });
      assert.equal(events[0].metadata.workspaceId, 'ws-test');
      assert.equal(typeof events[0].metadata.eventId, 'string');
      assert.equal(events[0].streamId, s);
      assert.deepEqual(await store.readStream(s, { fromRevision: 2 }).then((e) => e.map((x) => x.type)), ['C']);
    });

    it('reads several whole streams at once, empty for the missing ones', async () => {
      const [a, b, missing] = [stream(), stream(), stream()];
      await store.append(a, [ev('A1'), ev('A2')], 'no_stream');
      await store.append(b, [ev('B1')], 'no_stream');
      await store.append(a, [ev('A3')], 1);
      const read = await readStreams(store, [a, b, missing, a]);
      assert.deepEqual(read.get(a)?.map((e) => [e.type, e.revision]), [['A1', 0], ['A2', 1], ['A3', 2]], 'each stream once, a repeated id too');
      assert.deepEqual(read.get(b)?.map((e) => e.type), ['B1']);
      assert.deepEqual(read.get(missing), []);
    });

    it('returns an empty array for a stream that does not exist', async () => {
      assert.deepEqual(await store.readStream(stream()), []);
    });

    it('refuses an append whose expected revision is wrong, writing nothing', async () => {
      const s = stream();
      await store.append(s, [ev('A')], 'no_stream');
      await assert.rejects(store.append(s, [ev('B')], 'no_stream'), WrongExpectedRevisionError);
      await assert.rejects(store.append(s, [ev('B')], 5), WrongExpectedRevisionError);
      await assert.rejects(store.append(stream(), [ev('B')], 'stream_exists'), WrongExpectedRevisionError);
      await assert.rejects(store.append(stream(), [ev('B')], 0), WrongExpectedRevisionError);
      assert.equal((await store.readStream(s)).length, 1);
      await store.append(s, [ev('B')], 'any');
      await store.append(s, [ev('C')], 'stream_exists');
      assert.equal((await store.readStream(s)).length, 3);
    });

    it('is idempotent by event id: the same append twice stores it once', async () => {
      const s = stream();
      const ids = [randomUUID(), randomUUID()];
      const first = await store.append(s, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], 'no_stream');
      const again = await store.append(s, [ev('A', {}, ids[0]), ev('B', {}, ids[1])], 'no_stream');
      assert.equal(again.duplicate, true);
      assert.equal(again.nextRevision, first.nextRevision);
      assert.equal(again.position, first.position);
      assert.equal((await store.readStream(s)).length, 2);
    });

    it('lets exactly one of many concurrent writers win each expected revision', async () => {
      const s = stream();
      await store.append(s, [ev('Created')], 'no_stream');
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.append(s, [ev('Changed', { i })], 0)));
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof WrongExpectedRevisionError);
      assert.equal((await store.readStream(s)).length, 2);
    });

    it('appends to several streams at once, all or nothing', async () => {
      const [a, b, c] = [stream(), stream(), stream()];
      await store.append(c, [ev('Exists')], 'no_stream');
      const res = await store.appendMany([
        { streamId: a, expectedRevision: 'no_stream', events: [ev('A1'), ev('A2')] },
        { streamId: b, expectedRevision: 'no_stream', events: [ev('B1')] },
      ]);
      assert.deepEqual(res.map((r) => r.nextRevision), [1, 0]);
      await assert.rejects(
        store.appendMany([
          { streamId: a, expectedRevision: 1, events: [ev('A3')] },
          { streamId: c, expectedRevision: 'no_stream', events: [ev('C2')] },
        ]),
        WrongExpectedRevisionError,
      );
      assert.equal((await store.readStream(a)).length, 2, 'the valid half of a failed batch is not written');
    });

    it('reads the global log in position order from any position, filtered by stream prefix', async () => {
      const start = await store.headPosition();
      const a = stream('campaign-');
      const b = stream('contact-');
      await store.append(a, [ev('X1')], 'no_stream');
      await store.append(b, [ev('Y1')], 'no_stream');
      await store.append(a, [ev('X2')], 0);
      const all = await store.readAll({ after: start, maxCount: 100 });
      assert.deepEqual(all.map((e) => e.type), ['X1', 'Y1', 'X2']);
      assert.ok(all.every((e, i) => i === 0 || e.position > all[i - 1].position));
      const campaigns = await store.readAll({ after: start, maxCount: 100, streamPrefixes: ['campaign-'] });
      assert.deepEqual(campaigns.map((e) => e.type), ['X1', 'X2']);
      const tail = await store.readAll({ after: all[1].position, maxCount: 100 });
      assert.deepEqual(tail.map((e) => e.type), ['X2']);
      assert.equal(await store.headPosition(), all[2].position);
    });

    it('filters the global log and a subscription by event type, and moves the checkpoint past the rest', async () => {
      const start = await store.headPosition();
      const prefix = `typed${randomUUID().slice(0, 8)}-`;
      await store.append(`${prefix}1`, [ev('Keep', { i: 1 }), ev('Skip'), ev('Other'), ev('Keep', { i: 2 })], 'no_stream');
      await store.append(`${prefix}2`, [ev('Skip'), ev('Skip')], 'no_stream');
      await store.append(`${prefix}3`, Array.from({ length: 7 }, (_, i) => ev('Keep', { i: i + 3 })), 'no_stream');
      await store.append(`${prefix}2`, [ev('Skip')], 1);
      const read = await store.readAll({ after: start, maxCount: 100, streamPrefixes: [prefix], types: ['Keep', 'Other'] });
      assert.deepEqual(read.map((e) => e.type), ['Keep', 'Other', 'Keep', ...Array(7).fill('Keep')]);
      const name = `typed-${randomUUID()}`;
      const seen: string[] = [];
      const sub = await store.subscribe({ name, streamPrefixes: [prefix], types: ['Keep'], batchSize: 2, handler: async (e) => void seen.push(...e.map((x) => `${x.type}${(x.data as { i: number }).i}`)) });
      await sub.caughtUp();
      await sub.close();
      assert.deepEqual(seen, Array.from({ length: 9 }, (_, i) => `Keep${i + 1}`));
      // Subscribed again under the same name, after the trailing Skips: nothing is delivered twice, and a new Keep is.
      await store.append(`${prefix}2`, [ev('Keep', { i: 10 })], 2);
      const again: string[] = [];
      const sub2 = await store.subscribe({ name, streamPrefixes: [prefix], types: ['Keep'], handler: async (e) => void again.push(...e.map((x) => `${x.type}${(x.data as { i: number }).i}`)) });
      await sub2.caughtUp();
      await sub2.close();
      assert.deepEqual(again, ['Keep10']);
    });

    it('delivers every event exactly once, in order, to a subscription while writers race', async () => {
      const start = await store.headPosition();
      const seen: RecordedEvent[] = [];
      const prefix = `race${randomUUID().slice(0, 8)}-`;
      const sub = await store.subscribe({
        name: `contract-${randomUUID()}`,
        streamPrefixes: [prefix],
        batchSize: 7,
        handler: async (events) => void seen.push(...events),
      });
      const writers = Array.from({ length: 8 }, async (_, w) => {
        const s = `${prefix}${w}`;
        for (let i = 0; i < 25; i++) await store.append(s, [ev('Tick', { w, i })], i === 0 ? 'no_stream' : i - 1);
      });
      await Promise.all(writers);
      await sub.caughtUp();
      await sub.close();
      assert.equal(seen.length, 200);
      assert.equal(new Set(seen.map((e) => e.metadata.eventId)).size, 200);
      assert.ok(seen.every((e, i) => e.position > start && (i === 0 || e.position > seen[i - 1].position)));
      for (let w = 0; w < 8; w++) {
        const mine = seen.filter((e) => e.streamId === `${prefix}${w}`).map((e) => (e.data as { i: number }).i);
        assert.deepEqual(mine, Array.from({ length: 25 }, (_, i) => i));
      }
    });

    it('resumes a subscription after its durable checkpoint, also from a reopened store', async () => {
      const name = `resume-${randomUUID()}`;
      const prefix = `resume${randomUUID().slice(0, 8)}-`;
      const s = `${prefix}1`;
      await store.append(s, [ev('One'), ev('Two')], 'no_stream');
      const first: string[] = [];
      const sub1 = await store.subscribe({ name, streamPrefixes: [prefix], handler: async (e) => void first.push(...e.map((x) => x.type)) });
      await sub1.caughtUp();
      await sub1.close();
      assert.deepEqual(first, ['One', 'Two']);

      await store.append(s, [ev('Three')], 1);
      const reopened = await fx.reopen();
      const second: string[] = [];
      const sub2 = await reopened.subscribe({ name, streamPrefixes: [prefix], handler: async (e) => void second.push(...e.map((x) => x.type)) });
      await sub2.caughtUp();
      await sub2.close();
      assert.deepEqual(second, ['Three']);
    });

    it('does not move the checkpoint past a batch whose handler failed', async () => {
      const name = `fail-${randomUUID()}`;
      const prefix = `fail${randomUUID().slice(0, 8)}-`;
      await store.append(`${prefix}1`, [ev('A'), ev('B')], 'no_stream');
      let calls = 0;
      const delivered: string[] = [];
      const sub = await store.subscribe({
        name,
        streamPrefixes: [prefix],
        onError: () => undefined,
        handler: async (events) => {
          calls += 1;
          if (calls === 1) throw new Error('transient');
          delivered.push(...events.map((e) => e.type));
        },
      });
      await sub.caughtUp();
      await sub.close();
      assert.deepEqual(delivered, ['A', 'B']);
      assert.ok(calls >= 2);
    });
  });
}
