import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { DomainError } from '@herald/contracts';
import { DispatchFixture } from '../testing/dispatch-fixture.spec';

// Real PostgreSQL: the Human channel's queue, claimed and closed through the dispatch API.
describe('Human channel: a work queue people claim and close', () => {
  let f: DispatchFixture;
  let campaignId: string;

  before(async () => {
    f = await DispatchFixture.create({ workers: false });
    campaignId = await f.campaign([{ name: 'Escalate', description: 'd', channel: 'human', agent: 'Senior collector', settings: { instructions: 'Call {{name}} personally' } }]);
  });
  after(() => f.close());

  it('queues the started communication, lets one person claim it, and ends it with their result', async () => {
    const start = await f.started(campaignId, 'Escalate', 'human', { name: 'Ann', phone: '+15550001', parameters: { amount: 500 } });
    await f.rt.handler.handle(start);
    await f.rt.handler.handle(start);
    const [task] = await f.rt.human.list(f.ws, 'open');
    assert.equal((await f.rt.human.list(f.ws)).length, 1, 'one task whatever the redeliveries');
    assert.deepEqual([task.stageName, task.role, task.contact.name, task.contact.parameters], ['Escalate', 'Senior collector', 'Ann', { amount: 500 }]);
    assert.equal(task.instructions, 'Call Ann personally', 'the instructions are rendered with the contact');
    assert.deepEqual(await f.ends(start.streamId), [], 'the communication stays STARTED while people work on it');

    const [a, b] = await Promise.allSettled([f.rt.human.claim(f.ws, task.id, 'alice'), f.rt.human.claim(f.ws, task.id, 'bob')]);
    const winners = [a, b].filter((r) => r.status === 'fulfilled');
    assert.equal(winners.length, 1, 'one claimer');
    const holder = (winners[0] as PromiseFulfilledResult<{ assignee: string }>).value.assignee;
    const other = holder === 'alice' ? 'bob' : 'alice';
    await assert.rejects(f.rt.human.closeTask(f.ws, task.id, { assignee: other }), (e: DomainError) => e.code === 'conflict');
    await assert.rejects(f.rt.human.closeTask(f.ws, task.id, { assignee: holder, status: 'DONE' as 'COMPLETED' }), (e: DomainError) => /^status/.test(e.message));
    const closed = await f.rt.human.closeTask(f.ws, task.id, { assignee: holder, result: 'Promised to pay Friday', sessionResults: { OutcomeStatus: 'PROMISED' } });
    assert.equal(closed.status, 'closed');
    const [end] = await f.ends(start.streamId);
    assert.deepEqual([end.status, end.sessionStatus, end.result], ['COMPLETED', 'HANDLED', 'Promised to pay Friday']);
    assert.deepEqual(end.sessionResults, { OutcomeStatus: 'PROMISED', handledBy: holder });
    await assert.rejects(f.rt.human.claim(f.ws, task.id, other), /closed/);
    await assert.rejects(f.rt.human.claim(f.ws, 'nope', other), (e: DomainError) => e.code === 'not_found');
  });
});
