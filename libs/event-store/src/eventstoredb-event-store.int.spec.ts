/**
 * The EventStoreDB adapter. With EVENTSTORE_URL set (e.g.
 * `esdb://127.0.0.1:2113?tls=false` for `docker run -p 2113:2113
 * eventstore/eventstore:24.10 --insecure --run-projections=None`), it runs the
 * whole EventStore contract suite against that server; this machine has no
 * EventStoreDB, so CI runs only the mapping tests below, which need no server.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANY, NO_STREAM, STREAM_EXISTS, WrongExpectedVersionError } from '@eventstore/db-client';
import { newEvent } from '@herald/contracts';
import { eventStoreContract } from './contract-suite';
import {
  CHECKPOINT_STREAM_PREFIX, EventStoreDbEventStore, fromWrongExpectedVersion, isHeraldEvent, matchesPrefixes, positionOf,
  toEventData, toExpectedRevision, toRecorded,
} from './eventstoredb-event-store';
import { WrongExpectedRevisionError } from './event-store';

describe('EventStoreDB adapter: mapping to and from the client', () => {
  const event = newEvent('ContactOutcomeSet', { outcome: 'SUCCESS', previous: 'UNCERTAIN' }, { workspaceId: 'ws', traceparent: '00-aa-bb-01' });

  it('maps expected revisions, with numbers as bigint revisions', () => {
    assert.equal(toExpectedRevision('no_stream'), NO_STREAM);
    assert.equal(toExpectedRevision('stream_exists'), STREAM_EXISTS);
    assert.equal(toExpectedRevision('any'), ANY);
    assert.equal(toExpectedRevision(0), 0n);
    assert.equal(toExpectedRevision(41), 41n);
  });

  it('writes the envelope id as the event id (the server deduplicates on it) and the metadata as JSON', () => {
    const data = toEventData(event);
    assert.equal(data.id, event.metadata.eventId);
    assert.equal(data.type, 'ContactOutcomeSet');
    assert.equal(data.contentType, 'application/json');
    assert.deepEqual(data.data, { outcome: 'SUCCESS', previous: 'UNCERTAIN' });
    assert.deepEqual(data.metadata, event.metadata);
  });

  it('reads a resolved event back into a recorded event keyed by its prepare position', () => {
    const resolved = {
      event: {
        streamId: 'contact-c-o:1', id: event.metadata.eventId, isJson: true as const, revision: 7n, type: event.type, created: new Date(),
        data: event.data as Record<string, unknown>, metadata: event.metadata as unknown as Record<string, unknown>, position: { commit: 900n, prepare: 880n },
      },
    };
    const recorded = toRecorded(resolved as never);
    assert.deepEqual(recorded, { type: event.type, data: event.data, metadata: event.metadata, streamId: 'contact-c-o:1', revision: 7, position: 880 });
    assert.equal(positionOf(resolved), 880);
    assert.throws(() => positionOf({ event: {} as never }), /without a log position/);
  });

  it('keeps Herald events only: no system, link or checkpoint events', () => {
    const e = (streamId: string, type: string, isJson = true) => ({ event: { streamId, type, isJson } });
    assert.equal(isHeraldEvent(e('contact-c-1', 'ContactCreated')), true);
    assert.equal(isHeraldEvent(e('$stats-127.0.0.1:2113', '$statsCollected')), false);
    assert.equal(isHeraldEvent(e('contact-c-1', '$>', false)), false);
    assert.equal(isHeraldEvent(e(`${CHECKPOINT_STREAM_PREFIX}relay:default`, 'CheckpointSaved')), false);
    assert.equal(isHeraldEvent({}), false);
    assert.equal(matchesPrefixes('campaign-1', ['contact-', 'campaign-']), true);
    assert.equal(matchesPrefixes('campaign-1', ['contact-']), false);
    assert.equal(matchesPrefixes('campaign-1', undefined), true);
  });

  it('turns a wrong expected version into the port error with the actual revision', () => {
    const wrong = new WrongExpectedVersionError(undefined, { streamName: 'contact-x', expected: 3n, current: 5n } as never);
    Object.assign(wrong, { streamName: 'contact-x', actualVersion: 5n });
    const mapped = fromWrongExpectedVersion(wrong, 3);
    assert.ok(mapped instanceof WrongExpectedRevisionError);
    assert.equal(mapped.streamId, 'contact-x');
    assert.equal(mapped.actual, 5);
    Object.assign(wrong, { actualVersion: 'no_stream' });
    assert.equal(fromWrongExpectedVersion(wrong, 0).actual, 'no_stream');
  });
});

// Registered only against a real server: a run without one has nothing to connect to.
const url = process.env.EVENTSTORE_URL;
if (url) {
  eventStoreContract('EventStoreDB', async () => {
    const opened: EventStoreDbEventStore[] = [];
    const store = EventStoreDbEventStore.connect(url, { pollIntervalMs: 50 });
    opened.push(store);
    return {
      store,
      async reopen() {
        const again = EventStoreDbEventStore.connect(url, { pollIntervalMs: 50 });
        opened.push(again);
        return again;
      },
      async dispose() {
        for (const s of opened) await s.close();
      },
    };
  });
}
