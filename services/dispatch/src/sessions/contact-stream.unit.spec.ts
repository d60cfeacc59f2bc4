import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedEvent } from '@herald/contracts';
import { sessionMessage, transcriptOf } from './contact-stream';

/** The stream as recorded: each event with its revision and a global position. */
function recorded(events: ReturnType<typeof sessionMessage>[]): RecordedEvent[] {
  return events.map((e, i) => ({ ...e, streamId: 'contact-c1', revision: i, position: 100 + i, recordedAt: new Date().toISOString() }) as unknown as RecordedEvent);
}

describe('a session transcript', () => {
  const meta = { workspaceId: 'w1', correlationId: 's1' };
  const m = (role: 'agent' | 'contact', content: string, sessionId = 's1') => ({ communicationId: 'k1', sessionId, role, content });

  it('starts with the opening even when the contact answered before the opening was recorded', () => {
    const stream = recorded([
      sessionMessage('in:w1:tg:1', m('contact', 'I can pay on Friday'), meta),
      sessionMessage('opening:k1', m('agent', 'Hello Ann'), meta),
      sessionMessage('reply:x', m('agent', 'Thank you, noted.'), meta),
      sessionMessage('in:w1:tg:2', m('contact', 'another session', 's2'), meta),
    ]);
    assert.deepEqual(transcriptOf(stream, 's1').map((x) => `${x.role}: ${x.content}`), ['agent: Hello Ann', 'contact: I can pay on Friday', 'agent: Thank you, noted.']);
  });

  it('keeps the recorded order otherwise', () => {
    const stream = recorded([sessionMessage('opening:k1', m('agent', 'Hi'), meta), sessionMessage('in:1', m('contact', 'yes'), meta), sessionMessage('in:2', m('contact', 'no'), meta)]);
    assert.deepEqual(transcriptOf(stream, 's1').map((x) => x.content), ['Hi', 'yes', 'no']);
  });
});
