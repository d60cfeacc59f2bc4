import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deterministicEventId } from './metadata';

describe('deterministicEventId', () => {
  it('keeps the ids stored events already carry (UUID v5 of "<cause>#<index>" in the Herald namespace)', () => {
    // Values computed with uuid's v5 from the strings themselves, before the id was computed from bytes:
    // a change here would make retried handlers append their events a second time.
    assert.equal(deterministicEventId('fire:comm-1'), 'f481183f-5a75-5c85-af50-20e44f670457');
    assert.equal(deterministicEventId('upload:ü', 2), 'c9669c9a-f1fa-53c0-b0d2-d1c2c3e77d5e');
  });

  it('differs by cause and by index', () => {
    assert.notEqual(deterministicEventId('a', 0), deterministicEventId('a', 1));
    assert.notEqual(deterministicEventId('a'), deterministicEventId('b'));
  });
});
