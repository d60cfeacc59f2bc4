import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, TEST_ADMIN_KEY } from '@herald/testing';
import { startDistributed, startEmbedded } from './harness';

// The dry run with Aggregation simulated, through the gateway's REST API, in both modes: embedded (the
// scheduler reaches the strategies runtime in process) and distributed (over gRPC, SimulateAggregation).

// Plans the reminder email on Monday 2030-01-07 09:00 UTC.
const DATA_LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    start = datetime(2030, 1, 7, 9, 0, tzinfo=timezone.utc)
    contact.communications.append(Communication(name="Reminder email", stage_name="1 Reminder", start_date=start, end_date=start + timedelta(hours=8)))
    contact.current_stage = "1 Reminder"
    return contact
`;

// After every completed communication, a follow-up ten days later (the strategy's \`now\` is the virtual clock);
// it writes down what it was given.
const AGGREGATION = `
def run(contact, session_results, logger, **kwargs):
    ended = [c for c in contact.communications if c.flagged][0]
    contact.internal_data["last"] = {"id": ended.id, "status": ended.status.status, "session_results": session_results}
    if ended.status == CommunicationStatus.COMPLETED:
        contact.communications.append(Communication(name="Follow-up", stage_name="2 Follow-up", start_date=kwargs["now"] + timedelta(days=10)))
        contact.current_stage = "2 Follow-up"
    return contact
`;

async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...(body === undefined || body instanceof FormData ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed, text };
}

function upload(name: string, content: string): FormData {
  const form = new FormData();
  form.set('file', new Blob([content], { type: 'text/csv' }), name);
  return form;
}

function strategy(type: string, code: string): FormData {
  const form = new FormData();
  form.set('name', type); form.set('description', 'dry run'); form.set('type', type); form.set('functionName', 'run');
  form.set('file', new Blob([code], { type: 'text/x-python' }), `${type.toLowerCase()}.py`);
  return form;
}

for (const mode of ['embedded', 'distributed'] as const) describe(`dry run: Aggregation simulated through the strategies runtime (${mode})`, () => {
  let platform: { base: string; stop(): Promise<void> };
  let base: string;
  const call = (method: string, path: string, body?: unknown) => api(base, method, path, body);

  before(async () => {
    platform = mode === 'embedded' ? await startEmbedded() : await startDistributed();
    base = platform.base;
  });
  after(async () => {
    await platform?.stop();
  });

  it('shows the Data Load\'s email and the follow-ups Aggregation plans after it, up to the horizon; writes nothing', async () => {
    const integration = await call('POST', '/api/integrations', { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: 2525, secure: false, from: 'dry@herald.example' } });
    assert.equal(integration.status, 201, integration.text);
    const c = (await call('POST', '/api/campaigns', { name: 'Dry with follow-ups', description: 'dry run' })).body;
    for (const stage of [
      { name: '1 Reminder', description: 'Email', channel: 'email_notification', settings: { integration: 'mail', subject: 'Payment due', template: 'Hello {{name}}' } },
      { name: '2 Follow-up', description: 'Email again', channel: 'email_notification', settings: { integration: 'mail', subject: 'Still due', template: 'Hello again {{name}}' } },
    ]) {
      const r = await call('POST', `/api/campaigns/${c.id}/stages`, stage);
      assert.equal(r.status, 201, r.text);
    }
    for (const [type, code] of [['DATA_LOAD', DATA_LOAD], ['AGGREGATION', AGGREGATION]]) {
      const r = await call('POST', `/api/campaigns/${c.id}/strategies`, strategy(type, code));
      assert.equal(r.status, 201, r.text);
    }
    const up = await call('POST', `/api/campaigns/${c.id}/contacts/uploads`, upload('contacts.csv', 'object_id,name,email\nA1,Ann,ann@example.com\nB2,Bob,bob@example.com\n'));
    assert.equal(up.status, 202, up.text);
    await eventually(async () => ((await call('GET', `/api/campaigns/${c.id}/contacts/uploads/${up.body.id}`)).body.state === 'completed' ? true : undefined), { what: 'the upload to complete', timeoutMs: 60_000 });

    const contactEvents = async () => (await call('GET', '/api/events?category=contact')).text.split('\n').filter(Boolean).length;
    const campaignEvents = async () => (await call('GET', '/api/events?category=campaign')).text.split('\n').filter(Boolean).length;
    const dryRun = () => call('POST', `/api/campaigns/${c.id}/dry-run`, { from: '2030-01-07T06:00:00Z' });
    const first = await eventually(async () => {
      const r = await dryRun();
      return r.status === 200 && r.body.totals.contacts === 2 ? r.body : undefined;
    }, { what: 'the dry run to see both contacts\' planned emails', timeoutMs: 60_000 });
    const before = [await contactEvents(), await campaignEvents()];
    const view = (await dryRun()).body;

    assert.equal(view.aggregation.simulated, true, view.aggregation.reason);
    assert.ok(view.simulated.some((s: string) => /^Aggregation after each end/.test(s)));
    assert.ok(!view.notSimulated.some((s: string) => /^Aggregation after each end/.test(s)));
    // From Monday 06:00 the horizon (31 days) ends on 2030-02-07 06:00: the follow-up of 02-06 still runs Aggregation,
    // the one it plans for 02-16 is simulated but its own end is past the horizon.
    assert.equal(view.aggregation.horizon, '2030-02-07T06:00:00.000Z');
    for (const key of ['o:A1', 'o:B2']) {
      const steps = view.contacts.find((x: { key: string }) => x.key === key).communications;
      assert.deepEqual(steps.map((s: { name: string; outcome: string; at: string }) => [s.name, s.outcome, s.at]), [
        ['Reminder email', 'START', '2030-01-07T09:00:00.000Z'],
        ['Follow-up', 'START', '2030-01-17T09:00:00.000Z'],
        ['Follow-up', 'START', '2030-01-27T09:00:00.000Z'],
        ['Follow-up', 'START', '2030-02-06T09:00:00.000Z'],
        ['Follow-up', 'START', '2030-02-16T09:00:00.000Z'],
      ], key);
      assert.equal(steps[0].plannedBy, undefined, 'the email was planned by the Data Load strategy');
      for (let i = 1; i < steps.length; i++) {
        assert.deepEqual([steps[i].plannedBy, steps[i].plannedAfter, steps[i].stageName], ['AGGREGATION', steps[i - 1].communicationId, '2 Follow-up']);
      }
    }
    assert.deepEqual(
      [view.aggregation.runs, view.aggregation.planned, view.aggregation.failed, view.aggregation.notRun],
      [8, 8, 0, { afterHorizon: 2, overMaxRuns: 0 }],
    );
    assert.deepEqual(view.totals, { contacts: 2, communications: 10, starts: 10, missed: 0, errors: 0, lastAt: '2030-02-16T09:00:00.000Z' });
    assert.deepEqual(view.stages.map((s: { stageName: string; starts: number }) => [s.stageName, s.starts]), [['1 Reminder', 2], ['2 Follow-up', 8]]);
    // The same answer every time, follow-up ids included.
    assert.deepEqual(view.contacts, first.contacts);

    // Nothing was written: the contacts are as the upload left them, the campaign was not started.
    assert.deepEqual([await contactEvents(), await campaignEvents()], before);
    const contact = (await call('GET', `/api/campaigns/${c.id}/contacts/o:A1`)).body;
    assert.deepEqual(contact.communications.map((m: { name: string; status: string }) => [m.name, m.status]), [['Reminder email', 'PLANNED']]);
    assert.equal(contact.currentStage, '1 Reminder');
    assert.equal((await call('GET', `/api/campaigns/${c.id}`)).body.status, 'CONFIGURED');
  });
});
