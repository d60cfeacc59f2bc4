import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newEvent, type ContactState } from '@herald/contracts';
import { diffContact, evolve, InvalidContactError, rebuild, type ContactChange, type ContactDraft } from './index';

const meta = { workspaceId: 'ws', timestamp: '2026-01-01T00:00:00.000Z' };
const created = newEvent('ContactCreated', {
  campaignId: 'c1', key: 'o:C-1', objectId: 'C-1', externalId: 'U-1', name: 'John', email: 'j@example.com', phone: null,
  parameters: { amount_due: '250' }, uploadId: 'u1', row: 2,
}, meta);
const ctx = { stages: ['First Contact', 'Second Attempt'], now: new Date('2026-01-02T00:00:00Z'), newCommunicationId: (i: number) => `comm-${i}` };

function apply(state: ContactState, changes: ContactChange[]): ContactState {
  return changes.reduce((s, c, i) => evolve(s, { ...newEvent(c.type, c.data, meta), revision: s.revision + 1 + i } as never), state);
}
const draftOf = (s: ContactState): ContactDraft => JSON.parse(JSON.stringify(s));

describe('contact model', () => {
  const initial = rebuild([{ ...created, streamId: 'contact-c1-o:C-1', revision: 0, position: 1 }])!;

  it('rebuilds a new contact: Uncertain outcome, default result fields, no stage', () => {
    assert.equal(initial.outcome, 'UNCERTAIN');
    assert.deepEqual(initial.results, { ResultFlag: null, ResultDatetime: null });
    assert.equal(initial.currentStage, null);
    assert.equal(initial.revision, 0);
  });

  it('turns a strategy result into events and back into the same state', () => {
    const draft = draftOf(initial);
    const after: ContactDraft = {
      ...draft, currentStage: 'First Contact', outcome: 'POSITIVE', internalData: { tries: 1 },
      results: { ResultFlag: true, amount: 5 },
      communications: [{ ...draft.communications[0], id: null, name: 'Initial', stageName: 'First Contact', startDate: '2026-01-03T10:00:00+00:00', endDate: null, status: 'PLANNED' } as never],
    };
    const changes = diffContact(initial, after, ctx);
    assert.deepEqual(changes.map((c) => c.type), ['ContactStageChanged', 'ContactOutcomeSet', 'ContactResultsChanged', 'ContactInternalDataChanged', 'CommunicationPlanned']);
    const next = apply(initial, changes);
    assert.equal(next.currentStage, 'First Contact');
    assert.equal(next.communications[0].id, 'comm-0');
    assert.equal(next.communications[0].startDate, '2026-01-03T10:00:00.000Z');
    assert.equal(next.results.ResultDatetime, ctx.now.toISOString(), 'ResultDatetime set when ResultFlag becomes true');
    assert.deepEqual(diffContact(next, draftOf(next), ctx), [], 'no change, no events');
  });

  it('cancels a planned communication set to INTERRUPTED and keeps removed ones', () => {
    const withComm = apply(initial, [{ type: 'CommunicationPlanned', data: { communication: { id: 'x', name: 'n', stageName: 'First Contact', startDate: '2026-01-03T00:00:00.000Z', endDate: null } } }]);
    const draft = draftOf(withComm);
    const cancelled = { ...draft, communications: [{ ...draft.communications[0], status: 'INTERRUPTED' as const }] };
    assert.deepEqual(diffContact(withComm, cancelled, ctx).map((c) => c.type), ['CommunicationCancelled']);
    assert.deepEqual(diffContact(withComm, { ...draft, communications: [] }, ctx), []);
  });

  it('rejects unknown stages, outcomes and dates, naming the field', () => {
    const draft = draftOf(initial);
    assert.throws(() => diffContact(initial, { ...draft, currentStage: 'Nope' }, ctx), (e: unknown) => e instanceof InvalidContactError && e.field === 'current_stage');
    assert.throws(() => diffContact(initial, { ...draft, outcome: 'MAYBE' as never }, ctx), /outcome/);
    assert.throws(
      () => diffContact(initial, { ...draft, communications: [{ id: null, name: 'a', stageName: 'First Contact', startDate: 'soon' } as never] }, ctx),
      /communications\[0\]\.start_date/,
    );
  });
});
