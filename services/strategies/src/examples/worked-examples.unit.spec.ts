import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommunicationState, ContactState } from '@herald/contracts';
import { diffContact, type ContactDraft } from '@herald/contact-model';
import { StrategyRunner, type StrategyContact, type StrategyHook, type StrategyInput, type StrategyOutcome } from '../runtime/strategy-runner';

// The worked examples of docs/strategies.md (services/strategies/examples/), run
// through the real runtime: what the guide promises is what they do. The guide
// must show each file as it is.

const EXAMPLES = resolve(__dirname, '../../examples');
const GUIDE = resolve(__dirname, '../../../../docs/strategies.md');
const source = (path: string) => readFileSync(resolve(EXAMPLES, path), 'utf8');

const STAGES: Record<string, string[]> = {
  'pre-collection': ['1 Email reminder', '2 WhatsApp reminder', '3 Due-date call', '4 Missed payment email'],
  'sales-outreach': ['1 Intro email', '2 WhatsApp follow-up', '3 Qualification call', '4 Nurture email'],
  'customer-feedback': ['1 Survey email', '2 WhatsApp reminder', '3 VIP call', '4 Thank-you email'],
};
const FILES = [
  ['pre-collection', 'data_load.py', 'run'], ['pre-collection', 'aggregation.py', 'run'], ['pre-collection', 'intermediate.py', 'on_agent_answer'],
  ['sales-outreach', 'data_load.py', 'run'], ['sales-outreach', 'aggregation.py', 'run'], ['sales-outreach', 'intermediate.py', 'on_agent_answer'],
  ['customer-feedback', 'data_load.py', 'run'], ['customer-feedback', 'aggregation.py', 'run'],
] as const;

const now = new Date('2026-07-01T08:00:00.000Z');

function contact(over: Partial<ContactState> = {}): ContactState {
  return {
    campaignId: 'c', key: 'o:C-1', objectId: 'C-1', externalId: 'U-1', name: 'John Doe', email: 'john@example.com', phone: '+12025550123',
    parameters: {}, currentStage: null, outcome: 'UNCERTAIN', results: { ResultFlag: null, ResultDatetime: null }, internalData: {}, communications: [],
    createdAt: '2026-06-30T08:00:00.000Z', updatedAt: '2026-06-30T08:00:00.000Z', revision: 0, ...over,
  };
}

function comm(over: Partial<CommunicationState> & { id: string; stageName: string }): CommunicationState {
  return {
    name: over.stageName, startDate: '2026-06-30T09:00:00.000Z', endDate: null, status: 'COMPLETED', sessionStatus: null, result: null, channel: null,
    agent: null, variant: null, startedAt: null, finishedAt: null, sessionId: null, sessionResults: null, ...over,
  };
}

describe('worked examples', () => {
  let runner: StrategyRunner;
  const snapshot = ({ campaignId: _c, key: _k, updatedAt: _u, revision: _r, ...rest }: ContactState) => rest;

  async function run(example: string, file: string, hook: StrategyHook, input: Omit<StrategyInput, 'contact'> & { contact: ContactState }): Promise<StrategyOutcome> {
    const fn = hook === 'intermediate' ? 'on_agent_answer' : 'run';
    const campaign = { id: example, name: example, stages: STAGES[example], resultCodes: [], settings: {} };
    const [outcome] = await runner.run({ key: `${example}/${file}`, code: source(`${example}/${file}`), functionName: fn }, hook, [{ ...input, contact: snapshot(input.contact) }], { campaign, now });
    return outcome;
  }
  const ok = (o: StrategyOutcome): StrategyContact => {
    if (!o.ok) assert.fail(`${o.error}\n${o.traceback}`);
    assert.ok(o.contact);
    return o.contact;
  };
  /** The events the platform would append: the result must be acceptable as a whole. */
  const events = (example: string, before: ContactState, after: StrategyContact) =>
    diffContact(before, after as unknown as ContactDraft, { stages: STAGES[example], now, newCommunicationId: (n) => `new-${n}` }).map((e) => e.type);

  before(() => {
    runner = new StrategyRunner({ workers: 2, onSandbox: () => undefined });
  });
  after(() => runner.close());

  it('pass the upload-time checks, and docs/strategies.md shows each file as it is', async () => {
    const guide = readFileSync(GUIDE, 'utf8');
    for (const [example, file, fn] of FILES) {
      assert.deepEqual(await runner.validate(source(`${example}/${file}`), fn), { ok: true, errors: [] }, `${example}/${file}`);
      assert.ok(guide.includes(source(`${example}/${file}`).trimEnd()), `docs/strategies.md does not show ${example}/${file} as it is`);
    }
  });

  it('pre-collection: Data Load plans three reminders before the due date, skips the past, flags bad rows, re-plans a moved due date', async () => {
    const row = contact({ parameters: { due_date: '2026-07-10', amount_due: '250' } });
    const c = ok(await run('pre-collection', 'data_load.py', 'data-load', { contact: row, existing: null }));
    assert.deepEqual(c.communications.map((m) => [m.stageName, m.startDate, m.endDate]), [
      ['1 Email reminder', '2026-07-03T09:00:00+00:00', '2026-07-03T17:00:00+00:00'],
      ['2 WhatsApp reminder', '2026-07-07T10:00:00+00:00', '2026-07-07T18:00:00+00:00'],
      ['3 Due-date call', '2026-07-10T11:00:00+00:00', '2026-07-10T19:00:00+00:00'],
    ]);
    assert.equal(c.internalData.due_date, '2026-07-10T00:00:00+00:00');
    assert.deepEqual(events('pre-collection', row, c), ['ContactStageChanged', 'ContactInternalDataChanged', 'CommunicationPlanned', 'CommunicationPlanned', 'CommunicationPlanned']);

    const soon = ok(await run('pre-collection', 'data_load.py', 'data-load', { contact: contact({ parameters: { due_date: '2026-07-02' } }), existing: null }));
    assert.deepEqual(soon.communications.map((m) => m.stageName), ['3 Due-date call']);

    const bad = await run('pre-collection', 'data_load.py', 'data-load', { contact: contact({ parameters: { due_date: 'next week' } }), existing: null });
    assert.equal(ok(bad).outcome, 'ERROR');
    assert.match(bad.logs[0].message, /has no valid due_date \('next week'\)/);

    const stored = contact({
      parameters: { due_date: '2026-07-10' }, currentStage: '3 Due-date call', internalData: { due_date: '2026-07-10T00:00:00+00:00' },
      communications: [comm({ id: 'e', stageName: '1 Email reminder', status: 'PLANNED', startDate: '2026-07-03T09:00:00.000Z' })],
    });
    const same = ok(await run('pre-collection', 'data_load.py', 'data-load', { contact: row, existing: snapshot(stored) }));
    assert.deepEqual(events('pre-collection', stored, same), []);
    const moved = ok(await run('pre-collection', 'data_load.py', 'data-load', { contact: contact({ parameters: { due_date: '2026-07-20' } }), existing: snapshot(stored) }));
    assert.deepEqual(events('pre-collection', stored, moved), ['ContactParametersChanged', 'ContactInternalDataChanged', 'CommunicationCancelled', 'CommunicationPlanned', 'CommunicationPlanned', 'CommunicationPlanned']);
  });

  it('pre-collection: Aggregation ends the sequence on payment, follows up a missed due date, and Intermediate analysis hears "already paid"', async () => {
    const planned = comm({ id: 'w', stageName: '2 WhatsApp reminder', status: 'PLANNED', startDate: '2026-07-07T10:00:00.000Z' });
    const email = comm({ id: 'e', stageName: '1 Email reminder' });
    const paid = ok(await run('pre-collection', 'aggregation.py', 'aggregation', {
      contact: contact({ communications: [email, planned] }), sessionResults: { PaymentStatus: 'PAID' }, flaggedCommunicationId: 'e',
    }));
    assert.equal(paid.outcome, 'SUCCESS');
    assert.equal(paid.results.ResultFlag, true);
    assert.equal(paid.communications.find((m) => m.id === 'w')!.status, 'INTERRUPTED');

    const call = comm({ id: 'd', stageName: '3 Due-date call', status: 'MISSED' });
    const before = contact({ internalData: { due_date: '2026-06-30T00:00:00+00:00' }, communications: [call] });
    const missed = ok(await run('pre-collection', 'aggregation.py', 'aggregation', { contact: before, sessionResults: {}, flaggedCommunicationId: 'd' }));
    assert.deepEqual(missed.communications.slice(1).map((m) => [m.stageName, m.startDate]), [['4 Missed payment email', '2026-07-01T09:00:00+00:00']]);
    assert.deepEqual(events('pre-collection', before, missed), ['ContactStageChanged', 'CommunicationPlanned']);

    const said = ok(await run('pre-collection', 'intermediate.py', 'intermediate', {
      contact: contact(), message: { role: 'contact', content: 'I already paid, check again', createdAt: '2026-07-01T07:59:00Z', sessionId: 's', communicationId: 'd' },
    }));
    assert.equal(said.outcome, 'POSITIVE');
    assert.equal(said.internalData.last_message_time, '2026-07-01T07:59:00+00:00');
    const agent = await run('pre-collection', 'intermediate.py', 'intermediate', {
      contact: contact(), message: { role: 'agent', content: 'Have you paid?', createdAt: '2026-07-01T07:59:00Z', sessionId: 's', communicationId: 'd' },
    });
    assert.equal(agent.ok && agent.contact, null);
  });

  it('sales outreach: intro email, then WhatsApp, a call, nurture emails or a stop, by interest', async () => {
    const lead = ok(await run('sales-outreach', 'data_load.py', 'data-load', { contact: contact(), existing: null }));
    assert.deepEqual(lead.communications.map((m) => [m.stageName, m.startDate]), [['1 Intro email', '2026-07-01T09:00:00+00:00']]);
    const intro = comm({ id: 'i', stageName: '1 Intro email' });
    const after = async (interest: string | null) => ok(await run('sales-outreach', 'aggregation.py', 'aggregation', {
      contact: contact({ internalData: { touches: 1 }, communications: [intro] }), sessionResults: interest ? { Interest: interest } : {}, flaggedCommunicationId: 'i',
    }));
    const stagesOf = (c: StrategyContact) => c.communications.slice(1).map((m) => m.stageName);
    assert.deepEqual(stagesOf(await after('QUALIFIED')), ['3 Qualification call']);
    assert.deepEqual(stagesOf(await after('INTERESTED')), ['2 WhatsApp follow-up']);
    assert.deepEqual(stagesOf(await after('NOT_READY')), ['4 Nurture email', '4 Nurture email', '4 Nurture email']);
    const no = await after('NOT_INTERESTED');
    assert.equal(no.outcome, 'NEGATIVE');
    assert.deepEqual(stagesOf(await after(null)), ['2 WhatsApp follow-up']);
    const call = ok(await run('sales-outreach', 'intermediate.py', 'intermediate', {
      contact: contact({ communications: [intro] }), message: { role: 'contact', content: 'Sounds good, call me tomorrow', createdAt: '2026-07-01T07:59:00Z', sessionId: 's', communicationId: 'i' },
    }));
    assert.deepEqual(stagesOf(call), ['3 Qualification call']);
  });

  it('customer feedback: survey for all, a call for VIPs, thanks for answers, one reminder otherwise', async () => {
    const vip = ok(await run('customer-feedback', 'data_load.py', 'data-load', { contact: contact({ parameters: { tier: 'vip' } }), existing: null }));
    assert.deepEqual(vip.communications.map((m) => m.stageName), ['1 Survey email', '3 VIP call']);
    const survey = comm({ id: 's', stageName: '1 Survey email' });
    const vipCall = comm({ id: 'v', stageName: '3 VIP call', status: 'PLANNED', startDate: '2026-07-04T08:00:00.000Z' });
    const answered = ok(await run('customer-feedback', 'aggregation.py', 'aggregation', {
      contact: contact({ communications: [survey, vipCall] }), sessionResults: { SurveyCompleted: true, Score: 9, Comment: 'Great' }, flaggedCommunicationId: 's',
    }));
    assert.equal(answered.outcome, 'SUCCESS');
    assert.deepEqual(answered.results, { ResultFlag: true, ResultDatetime: null, Score: 9, Comment: 'Great' });
    assert.deepEqual(answered.communications.map((m) => [m.stageName, m.status]), [['1 Survey email', 'COMPLETED'], ['3 VIP call', 'INTERRUPTED'], ['4 Thank-you email', 'PLANNED']]);
    const silent = ok(await run('customer-feedback', 'aggregation.py', 'aggregation', { contact: contact({ communications: [survey] }), sessionResults: {}, flaggedCommunicationId: 's' }));
    assert.deepEqual(silent.communications.slice(1).map((m) => m.stageName), ['2 WhatsApp reminder']);
  });
});
