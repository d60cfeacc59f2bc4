import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually } from '@herald/testing';
import { file, form, startEmbedded } from './harness';
import { api } from './walking-skeleton';

// The performance panel's numbers through the gateway (issue 8 point 8): the campaign-performance read model, fed by
// the contact events an upload produces, moved by the next upload (docs/analytics.md).

/** Stage and outcome come from the uploaded row, so a second upload moves contacts between buckets. */
const LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    contact.current_stage = contact.parameters.get("stage") or None
    contact.outcome = contact.parameters.get("outcome") or "UNCERTAIN"
    return contact
`;

describe('performance: the panel\'s numbers as a server-side projection (embedded)', () => {
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let base: string;
  const call = (method: string, path: string, body?: unknown, as?: string) => api(base, method, path, body, as);

  before(async () => {
    platform = await startEmbedded();
    base = platform.base;
  });
  after(async () => platform?.stop());

  async function upload(id: string, csv: string) {
    const r = await call('POST', `/api/campaigns/${id}/contacts/uploads`, form({ file: file('contacts.csv', csv, 'text/csv') }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const done = await eventually(async () => {
      const u = (await call('GET', `/api/campaigns/${id}/contacts/uploads/${r.body.id}`)).body;
      return u.state === 'completed' || u.state === 'failed' ? u : undefined;
    }, { what: 'the upload' });
    assert.equal(done.state, 'completed', JSON.stringify(done));
  }

  /** The performance once it satisfies `ready` (the read model catches up with the events). */
  const performance = (id: string, period: string, ready: (p: any) => boolean) =>
    eventually(async () => {
      const r = await call('GET', `/api/campaigns/${id}/performance?period=${period}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return ready(r.body) ? r.body : undefined;
    }, { what: `the ${period} performance` });

  it('counts contacts by stage and outcome per period, and moves them when their outcome and stage change', async (t) => {
    try {
      const campaign = (await call('POST', '/api/campaigns', { name: 'Performance', description: 'panel numbers' })).body;
      const id = campaign.id as string;
      for (const name of ['1 Reminder', '2 Call']) {
        const s = await call('POST', `/api/campaigns/${id}/stages`, { name, description: 'd', channel: 'no_communication', settings: {} });
        assert.equal(s.status, 201, JSON.stringify(s.body));
      }
      const strategy = await call('POST', `/api/campaigns/${id}/strategies`, form({ name: 'Load', description: 'd', type: 'DATA_LOAD', functionName: 'run', file: file('load.py', LOAD) }));
      assert.equal(strategy.status, 201, JSON.stringify(strategy.body));

      const empty = (await call('GET', `/api/campaigns/${id}/performance`)).body;
      assert.deepEqual([empty.period, empty.totalContacts, empty.completionRate, empty.successRate, empty.periods], ['day', 0, null, null, []]);

      await upload(id, [
        'object_id,email,stage,outcome',
        'P1,p1@example.com,1 Reminder,',
        'P2,p2@example.com,1 Reminder,POSITIVE',
        'P3,p3@example.com,,SUCCESS',
        'P4,p4@example.com,2 Call,NEGATIVE',
      ].join('\n'));
      const first = await performance(id, 'day', (p) => p.totalContacts === 4 && p.processedContacts === 3);
      assert.deepEqual(
        [first.totalContacts, first.processedContacts, first.completedContacts, first.successfulContacts, first.completionRate, Number(first.successRate.toFixed(4))],
        [4, 3, 2, 1, 0.5, 0.3333],
      );
      assert.equal(first.periods.length, 1, 'every contact was created today (UTC)');
      const today = first.periods[0] as string;
      assert.match(today, /^\d{4}-\d{2}-\d{2}$/);
      assert.deepEqual(first.stages, [{ stage: null, contacts: [1] }, { stage: '1 Reminder', contacts: [2] }, { stage: '2 Call', contacts: [1] }]);
      assert.deepEqual(first.outcomes, [
        { outcome: 'SUCCESS', contacts: [1] }, { outcome: 'POSITIVE', contacts: [1] }, { outcome: 'UNCERTAIN', contacts: [1] }, { outcome: 'NEGATIVE', contacts: [1] },
      ]);

      // The second upload: P1 succeeds at the call, P2 turns negative, P4 errs; P3 stays; P5 is new.
      await upload(id, [
        'object_id,email,stage,outcome',
        'P1,p1@example.com,2 Call,SUCCESS',
        'P2,p2@example.com,1 Reminder,NEGATIVE',
        'P3,p3@example.com,,SUCCESS',
        'P4,p4@example.com,2 Call,ERROR',
        'P5,p5@example.com,1 Reminder,',
      ].join('\n'));
      const moved = await performance(id, 'week', (p) => p.totalContacts === 5 && p.successfulContacts === 2 && p.outcomes.every((o: { outcome: string }) => o.outcome !== 'POSITIVE'));
      assert.deepEqual(
        [moved.processedContacts, moved.completedContacts, moved.completionRate, Number(moved.successRate.toFixed(4))],
        [4, 4, 0.8, 0.5], 'SUCCESS 2, NEGATIVE 1, ERROR 1 of 5; success 2 of 4 processed',
      );
      const monday = new Date(`${today}T00:00:00Z`);
      monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
      assert.deepEqual(moved.periods, [monday.toISOString().slice(0, 10)], 'a week is named by its Monday');
      assert.deepEqual(moved.stages, [{ stage: null, contacts: [1] }, { stage: '1 Reminder', contacts: [2] }, { stage: '2 Call', contacts: [2] }]);
      assert.deepEqual(moved.outcomes, [
        { outcome: 'SUCCESS', contacts: [2] }, { outcome: 'UNCERTAIN', contacts: [1] }, { outcome: 'NEGATIVE', contacts: [1] }, { outcome: 'ERROR', contacts: [1] },
      ]);
      const month = (await call('GET', `/api/campaigns/${id}/performance?period=month`)).body;
      assert.deepEqual([month.periods, month.totalContacts, month.completionRate], [[`${today.slice(0, 7)}-01`], 5, 0.8]);
      // The panel's numbers agree with the contacts list (the other read model of the same events).
      const list = (await call('GET', `/api/campaigns/${id}/contacts?limit=500`)).body.items as { outcome: string }[];
      assert.equal(list.filter((c) => c.outcome === 'SUCCESS').length, moved.successfulContacts);

      // Bad period: 400 naming the field. Unknown campaign, and another workspace's: 404.
      const bad = await call('GET', `/api/campaigns/${id}/performance?period=year`);
      assert.deepEqual([bad.status, bad.body.field], [400, 'period']);
      assert.match(bad.body.message, /^period: /);
      assert.equal((await call('GET', `/api/campaigns/${randomUUID()}/performance`)).status, 404);
      assert.equal((await call('GET', '/api/campaigns/not-a-uuid/performance')).body.field, 'campaignId');
      const workspace = await call('POST', '/api/workspaces', { name: 'Elsewhere' });
      assert.equal(workspace.status, 201, JSON.stringify(workspace.body));
      const foreign = await call('GET', `/api/campaigns/${id}/performance`, undefined, workspace.body.adminKey.key);
      assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    } catch (error) {
      t.diagnostic(platform.herald.output().slice(-3000));
      throw error;
    }
  });
});
