import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EachBatchPayload, Logger } from 'kafkajs';
import { HEADERS, newEvent, type RecordedEvent } from '@herald/contracts';
import { decodeEvent, encodeEvent } from './kafka-codec';
import { handleBatch } from './kafka-batch';
import { handleChunks } from './kafka-chunks';
import { relayMessages } from './relay';
import { storeFilterFor, streamPrefixesFor } from './store-bus';

const recorded = (streamId: string, revision: number, type = 'Thing', data: unknown = {}, extra: object = {}): RecordedEvent => ({
  ...newEvent(type, data, { workspaceId: 'ws-1', ...extra }),
  streamId,
  revision,
  position: 100 + revision,
});

describe('kafka codec', () => {
  it('keys by stream, carries the contract headers and round-trips the event', () => {
    const e = recorded('contact-c-1', 3, 'OutcomeSet', { outcome: 'SUCCESS' }, { causationId: 'cause-1', traceparent: '00-abc-def-01', correlationId: 'corr-1' });
    const m = encodeEvent(e);
    assert.equal(m.key, 'contact-c-1');
    assert.deepEqual(m.headers, {
      [HEADERS.eventId]: e.metadata.eventId,
      [HEADERS.eventType]: 'OutcomeSet',
      [HEADERS.position]: '103',
      [HEADERS.streamId]: 'contact-c-1',
      [HEADERS.revision]: '3',
      [HEADERS.schemaVersion]: '1',
      [HEADERS.workspaceId]: 'ws-1',
      [HEADERS.correlationId]: 'corr-1',
      [HEADERS.causationId]: 'cause-1',
      [HEADERS.traceparent]: '00-abc-def-01',
    });
    assert.deepEqual(JSON.parse(m.value), { streamId: e.streamId, revision: 3, position: 103, type: 'OutcomeSet', data: e.data, metadata: e.metadata });
    assert.deepEqual(decodeEvent(Buffer.from(m.value)), e);
  });

  it('leaves out absent causation and trace headers, and rejects foreign values', () => {
    const m = encodeEvent(recorded('campaign-1', 0));
    assert.equal(HEADERS.causationId in m.headers, false);
    assert.equal(HEADERS.traceparent in m.headers, false);
    assert.throws(() => decodeEvent(Buffer.from('{"hello":1}')));
    assert.throws(() => decodeEvent(null));
  });
});

describe('routing', () => {
  it('relays every event to every topic of topicsFor, in order', () => {
    const events = [recorded('campaign-1', 0), recorded('contact-1-a', 0, 'CommunicationStarted', { channel: 'sms' }), recorded('contact-1-a', 1)];
    assert.deepEqual(relayMessages(events).map((m) => `${m.topic}@${m.event.streamId}/${m.event.revision}`), [
      'campaign.events@campaign-1/0',
      'contact.events@contact-1-a/0',
      'dispatch.requests.sms@contact-1-a/0',
      'contact.events@contact-1-a/1',
    ]);
  });

  it('maps topics to the stream prefixes the embedded bus reads', () => {
    assert.deepEqual(streamPrefixesFor('campaign.events'), ['campaign-']);
    assert.deepEqual(streamPrefixesFor('contact.events'), ['contact-']);
    assert.deepEqual(streamPrefixesFor('dispatch.requests.email_notification'), ['contact-']);
    assert.deepEqual(streamPrefixesFor('dispatch.status'), []);
  });

  it('lets the store filter by event type: the subscriber\'s types, and CommunicationStarted alone for dispatch requests', () => {
    assert.deepEqual(storeFilterFor(['contact.events']), { streamPrefixes: ['contact-'], types: undefined });
    assert.deepEqual(storeFilterFor(['contact.events'], ['A', 'B', 'A']), { streamPrefixes: ['contact-'], types: ['A', 'B'] });
    assert.deepEqual(storeFilterFor(['dispatch.requests.sms', 'dispatch.requests.email']), { streamPrefixes: ['contact-'], types: ['CommunicationStarted'] });
    assert.deepEqual(storeFilterFor(['dispatch.requests.sms'], ['CommunicationStarted', 'X']), { streamPrefixes: ['contact-'], types: ['CommunicationStarted'] });
    assert.deepEqual(storeFilterFor(['dispatch.requests.sms'], ['X']).types, []);
    assert.deepEqual(storeFilterFor(['dispatch.requests.sms', 'contact.events']).types, undefined);
  });
});

/** A stand-in for kafkajs' eachBatch payload that records resolves and commits. */
function fakeBatch(events: RecordedEvent[], opts: { running?: () => boolean } = {}) {
  const resolved: string[] = [];
  const commits: string[] = [];
  let heartbeats = 0;
  const payload = {
    batch: {
      topic: 'px.contact.events',
      partition: 2,
      messages: events.map((e, i) => ({
        offset: String(10 + i), value: Buffer.from(encodeEvent(e).value),
        headers: Object.fromEntries(Object.entries(encodeEvent(e).headers).map(([k, v]) => [k, Buffer.from(v)])),
      })),
    },
    resolveOffset: (o: string) => void resolved.push(o),
    heartbeat: async () => void heartbeats++,
    commitOffsetsIfNecessary: async (offsets: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }) => {
      for (const t of offsets.topics) for (const p of t.partitions) commits.push(`${t.topic}/${p.partition}:${p.offset}`);
    },
    isRunning: opts.running ?? (() => true),
    isStale: () => false,
  } as unknown as EachBatchPayload;
  return { payload, resolved, commits, heartbeats: () => heartbeats };
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, setLogLevel() {}, namespace: () => silent } as unknown as Logger;

describe('kafka batch handling', () => {
  const events = [recorded('contact-1-a', 0), recorded('contact-1-a', 1), recorded('contact-1-a', 2)];

  it('retries a failing message (never skips it) and commits only past handled messages', async () => {
    const { payload, resolved, commits } = fakeBatch(events);
    const handled: string[] = [];
    const errors: number[] = [];
    let failures = 0;
    await handleBatch(payload, {
      handler: async (e, topic) => {
        if (e.revision === 1 && failures < 2) {
          failures++;
          // Nothing past the handled message 0 (offset 10) may be committed while 1 fails.
          assert.deepEqual(commits.filter((c) => c !== 'px.contact.events/2:11'), []);
          throw new Error('transient');
        }
        handled.push(`${topic}:${e.revision}`);
      },
      onError: (_err, e) => errors.push(e.revision),
      logicalTopic: (t) => t.replace(/^px\./, ''),
      maxRetryDelayMs: 20,
      commitIntervalMs: 60_000,
      logger: silent,
    });
    assert.deepEqual(handled, ['contact.events:0', 'contact.events:1', 'contact.events:2']);
    assert.deepEqual(errors, [1, 1]);
    assert.deepEqual(resolved, ['10', '11', '12']);
    // Committed offset = next offset to read; 11 committed before the retries, 13 at the end.
    assert.deepEqual(commits, ['px.contact.events/2:11', 'px.contact.events/2:13']);
  });

  it('leaves a failing message uncommitted when the consumer stops during the retries', async () => {
    let running = true;
    const { payload, resolved, commits } = fakeBatch(events, { running: () => running });
    await handleBatch(payload, {
      handler: async (e) => {
        if (e.revision === 1) {
          running = false;
          throw new Error('down');
        }
      },
      logicalTopic: (t) => t,
      maxRetryDelayMs: 20,
      commitIntervalMs: 60_000,
      logger: silent,
    });
    assert.deepEqual(resolved, ['10']);
    assert.deepEqual(commits, ['px.contact.events/2:11']);
  });
});

describe('kafka delivery of wanted event types only', () => {
  const events = [recorded('contact-1-a', 0, 'ContactCreated'), recorded('contact-1-a', 1, 'CommunicationEnded'), recorded('contact-1-a', 2, 'ContactStageChanged'), recorded('contact-1-a', 3, 'CommunicationEnded')];
  const base = { logicalTopic: (t: string) => t, maxRetryDelayMs: 20, commitIntervalMs: 0, logger: silent, wanted: new Set(['CommunicationEnded']) };

  it('passes over the other types by their header, moving the offsets past them (one by one)', async () => {
    const { payload, resolved, commits } = fakeBatch(events);
    const seen: number[] = [];
    await handleBatch(payload, { ...base, handler: async (e) => void seen.push(e.revision) });
    assert.deepEqual(seen, [1, 3]);
    assert.deepEqual(resolved, ['10', '11', '12', '13']);
    assert.equal(commits[commits.length - 1], 'px.contact.events/2:14');
  });

  it('passes over the other types by their header, moving the offsets past them (in chunks)', async () => {
    const { payload, resolved, commits } = fakeBatch(events);
    const seen: number[][] = [];
    await handleChunks(payload, { ...base, handler: async () => undefined, maxSize: 3, batchHandler: async (items) => void seen.push(items.map((i) => i.event.revision)) });
    // A chunk with nothing wanted calls nothing, and still moves on.
    const none = fakeBatch([events[0], events[2]]);
    await handleChunks(none.payload, { ...base, handler: async () => undefined, maxSize: 3, batchHandler: async () => assert.fail('nothing wanted') });
    assert.deepEqual(seen, [[1], [3]]);
    assert.deepEqual(resolved, ['12', '13']);
    assert.deepEqual(commits, ['px.contact.events/2:13', 'px.contact.events/2:14']);
    assert.deepEqual(none.resolved, ['11']);
  });
});
