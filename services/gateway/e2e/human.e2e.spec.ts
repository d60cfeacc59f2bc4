import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@herald/testing';
import { file, form, startEmbedded } from './harness';
import { api } from './walking-skeleton';

// The Human channel through the gateway's REST API (embedded mode, `npm start`): a started
// communication becomes a task people list, claim and close; the close ends the communication
// and its session_results reach the Aggregation strategy. No third party is involved.
const LOAD = `
async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    contact.communications.append(Communication(
        name="Personal call", stage_name="1 Call",
        start_date=datetime.now(timezone.utc),
        end_date=datetime.now(timezone.utc) + timedelta(hours=1)))
    contact.current_stage = "1 Call"
    return contact
`;

const AGGREGATION = `
async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    if session_results.get("OutcomeStatus") == "PROMISED":
        contact.outcome = OutcomeStatus.POSITIVE
        contact.current_stage = "2 Done"
        contact.internal_data["handled_by"] = session_results.get("handledBy")
    return contact
`;

describe('Human queue through the gateway API (embedded)', () => {
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let base: string;
  let campaignId: string;
  const call = (method: string, path: string, body?: unknown) => api(base, method, path, body);

  before(async () => {
    platform = await startEmbedded();
    base = platform.base;
    const c = await call('POST', '/api/campaigns', { name: 'Escalation', description: 'People call the largest debts' });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    campaignId = c.body.id;
    for (const stage of [
      { name: '1 Call', description: 'A collector calls', channel: 'human', agent: 'Senior collector', settings: { instructions: 'Call {{name}} about {{amount_due}} EUR' } },
      { name: '2 Done', description: 'Terminal', channel: 'no_communication' },
    ]) {
      const r = await call('POST', `/api/campaigns/${campaignId}/stages`, stage);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    for (const [type, code] of [['DATA_LOAD', LOAD], ['AGGREGATION', AGGREGATION]] as const) {
      const r = await call('POST', `/api/campaigns/${campaignId}/strategies`, form({ name: type, description: 'd', type, functionName: 'run', file: file(`${type}.py`, code) }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const csv = 'object_id,name,phone,amount_due\nH1,Ann Lee,+12025550101,900\n';
    const up = await call('POST', `/api/campaigns/${campaignId}/contacts/uploads`, form({ file: file('contacts.csv', csv, 'text/csv') }));
    assert.equal(up.status, 202, JSON.stringify(up.body));
    await eventually(async () => ((await call('GET', `/api/campaigns/${campaignId}`)).body.status === 'CONFIGURED' ? true : undefined), { what: 'CONFIGURED', timeoutMs: 60_000 });
    const started = await call('POST', `/api/campaigns/${campaignId}/start`);
    assert.equal(started.status, 200, JSON.stringify(started.body));
  });
  after(async () => platform?.stop());

  it('queues the started communication as a task, lets one person claim it and close it with a result that Aggregation reads', async () => {
    const [task] = await eventually(async () => {
      const r = await call('GET', '/api/human/tasks?status=open');
      return r.status === 200 && r.body.length === 1 ? r.body : undefined;
    }, { what: 'the task in the queue', timeoutMs: 60_000 });
    assert.deepEqual([task.stageName, task.role, task.status, task.assignee, task.campaignId, task.contactKey], ['1 Call', 'Senior collector', 'open', null, campaignId, 'o:H1']);
    assert.deepEqual([task.contact.name, task.contact.phone, task.contact.parameters.amount_due], ['Ann Lee', '+12025550101', '900']);
    assert.equal(task.instructions, 'Call Ann Lee about 900 EUR', 'instructions rendered with the contact');
    const before = (await call('GET', `/api/campaigns/${campaignId}/contacts/o:H1`)).body;
    assert.equal(before.communications[0].status, 'STARTED', 'the communication waits for the person');

    assert.equal((await call('POST', `/api/human/tasks/${task.id}/claim`, {})).status, 400, 'assignee is required');
    const claimed = await call('POST', `/api/human/tasks/${task.id}/claim`, { assignee: 'alice' });
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    assert.deepEqual([claimed.body.status, claimed.body.assignee], ['claimed', 'alice']);
    assert.ok(claimed.body.claimedAt);
    assert.equal((await call('POST', `/api/human/tasks/${task.id}/claim`, { assignee: 'bob' })).status, 409, 'one holder');
    assert.equal((await call('GET', '/api/human/tasks?status=open')).body.length, 0);
    assert.equal((await call('GET', '/api/human/tasks?status=claimed')).body[0].id, task.id);
    assert.equal((await call('POST', `/api/human/tasks/${task.id}/close`, { assignee: 'bob' })).status, 409, 'only the holder closes');
    const badStatus = await call('POST', `/api/human/tasks/${task.id}/close`, { assignee: 'alice', status: 'DONE' });
    assert.equal(badStatus.status, 400);
    assert.match(JSON.stringify(badStatus.body), /status/);

    const closed = await call('POST', `/api/human/tasks/${task.id}/close`, { assignee: 'alice', sessionStatus: 'REACHED', result: 'Promised to pay on Friday', sessionResults: { OutcomeStatus: 'PROMISED' } });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    assert.deepEqual([closed.body.status, closed.body.result], ['closed', 'Promised to pay on Friday']);
    assert.equal((await call('POST', `/api/human/tasks/${task.id}/close`, { assignee: 'alice' })).status, 409, 'closed once');

    const contact = await eventually(async () => {
      const r = await call('GET', `/api/campaigns/${campaignId}/contacts/o:H1`);
      return r.body.outcome === 'POSITIVE' ? r.body : undefined;
    }, { what: 'Aggregation to read the session_results', timeoutMs: 60_000 });
    const [comm] = contact.communications;
    assert.deepEqual([comm.status, comm.sessionStatus, comm.result, comm.channel], ['COMPLETED', 'REACHED', 'Promised to pay on Friday', 'human']);
    assert.equal(contact.currentStage, '2 Done');
    assert.equal(contact.internalData.handled_by, 'alice', 'the closer is in the session_results');
    assert.equal((await call('GET', '/api/human/tasks?status=closed')).body.length, 1);
    assert.equal((await call('GET', '/api/human/tasks?status=nope')).status, 400);
    assert.equal((await call('POST', '/api/human/tasks/no-such-task/claim', { assignee: 'alice' })).status, 404);
  });
});
