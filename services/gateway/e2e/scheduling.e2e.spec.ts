import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '@herald/testing';
import { file, form, startEmbedded } from './harness';
import { api } from './walking-skeleton';

// The scheduling policy and the dry run through the gateway (issue 5), embedded mode.
const LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    contact.communications.append(Communication(
        name="Call", stage_name="1 Call",
        start_date=datetime(2030, 1, 7, 6, 0, tzinfo=timezone.utc),
        end_date=datetime(2030, 1, 7, 12, 0, tzinfo=timezone.utc)))
    contact.current_stage = "1 Call"
    return contact
`;

describe('scheduling: workspace policy and dry run (embedded)', () => {
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let base: string;
  const call = (method: string, path: string, body?: unknown) => api(base, method, path, body);

  before(async () => {
    platform = await startEmbedded();
    base = platform.base;
  });
  after(async () => platform?.stop());

  it('validates and keeps the policy, naming the field of a bad one', async () => {
    assert.deepEqual((await call('GET', '/api/scheduling/policy')).body, { frequencyCap: null, rateLimits: {} });
    const bad = await call('PUT', '/api/scheduling/policy', { frequencyCap: { maxStarts: 0 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'frequencyCap.maxStarts');
    const badChannel = await call('PUT', '/api/scheduling/policy', { rateLimits: { fax: { perMinute: 5 } } });
    assert.equal(badChannel.status, 400);
    assert.match(badChannel.body.message, /^rateLimits\.fax: unknown channel/);
    const policy = { frequencyCap: { maxStarts: 3, perHours: 24 }, rateLimits: { human: { perMinute: 60 } } };
    assert.deepEqual((await call('PUT', '/api/scheduling/policy', policy)).body, policy);
    assert.deepEqual((await call('GET', '/api/scheduling/policy')).body, policy);
  });

  it('simulates what Start would do: sending hours in each contact\'s zone, windows, nothing sent', async () => {
    const c = (await call('POST', '/api/campaigns', { name: 'Dry', description: 'dry run' })).body;
    const stage = await call('POST', `/api/campaigns/${c.id}/stages`, { name: '1 Call', description: 'd', channel: 'human', settings: { sendingHours: { from: '09:00', to: '17:00' } } });
    assert.equal(stage.status, 201, JSON.stringify(stage.body));
    const s = await call('POST', `/api/campaigns/${c.id}/strategies`, form({ name: 'Load', description: 'd', type: 'DATA_LOAD', functionName: 'run', file: file('load.py', LOAD) }));
    assert.equal(s.status, 201, JSON.stringify(s.body));
    const csv = 'object_id,name,email,timezone\nP1,Paris,p@example.com,Europe/Paris\nN1,New York,n@example.com,America/New_York\n';
    const up = await call('POST', `/api/campaigns/${c.id}/contacts/uploads`, form({ file: file('contacts.csv', csv) }));
    assert.equal(up.status, 202, JSON.stringify(up.body));

    const view = await eventually(async () => {
      const r = await call('POST', `/api/campaigns/${c.id}/dry-run`, { from: '2030-01-07T06:00:00Z' });
      return r.status === 200 && r.body.totals.communications === 2 ? r.body : undefined;
    }, { what: 'the dry run to see both planned communications', timeoutMs: 60_000 });
    const step = (key: string) => view.contacts.find((x: { key: string }) => x.key === key).communications[0];
    assert.deepEqual([step('o:P1').outcome, step('o:P1').at], ['START', '2030-01-07T08:00:00.000Z'], '09:00 in Paris');
    assert.equal(step('o:N1').outcome, 'MISSED', 'New York opens at 14:00 UTC, after the window');
    assert.match(step('o:N1').reason, /America\/New_York/);
    await eventually(async () => ((await call('GET', `/api/campaigns/${c.id}/contacts/uploads/${up.body.id}`)).body.state === 'completed' ? true : undefined), { what: 'the upload to complete' });
    assert.equal((await call('GET', `/api/campaigns/${c.id}`)).body.status, 'CONFIGURED', 'the dry run started nothing');

    const badFrom = await call('POST', `/api/campaigns/${c.id}/dry-run`, { from: 'soon' });
    assert.equal(badFrom.status, 400);
    assert.equal(badFrom.body.field, 'from');
    assert.equal((await call('POST', '/api/campaigns/not-a-uuid/dry-run', {})).status, 400);
    assert.equal((await call('POST', '/api/campaigns/00000000-0000-4000-8000-000000000000/dry-run', {})).status, 404);
  });
});
