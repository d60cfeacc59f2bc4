import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, REPO_ROOT, startSmtpServer } from '@herald/testing';
import { file, form, startEmbedded } from './harness';
import { api } from './walking-skeleton';

/**
 * The README's "A campaign in six calls", as a new user runs it: a fresh
 * installation (no key given: the first admin's key is read from the data
 * folder), the example files of services/strategies/examples/quickstart, and
 * a real SMTP server standing in for `npm run dev:smtp`.
 */
describe('README quick start (embedded)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  const example = (name: string) => readFileSync(join(REPO_ROOT, 'services/strategies/examples/quickstart', name));

  before(async () => {
    smtp = await startSmtpServer();
    platform = await startEmbedded({ HERALD_BOOTSTRAP_ADMIN_KEY: '' });
  });
  after(async () => {
    await platform?.stop();
    await smtp?.close();
  });

  it('sends the two reminders and ends both contacts in SUCCESS', async () => {
    const key = await eventually(() => {
      try {
        return readFileSync(join(platform.dataDir, 'admin-api-key'), 'utf8').trim();
      } catch {
        return undefined;
      }
    }, { what: 'the first admin key in the data folder' });
    const call = (method: string, path: string, body?: unknown) => api(platform.base, method, `/api${path}`, body, key);
    const mail = await call('POST', '/integrations', { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'collections@example.com' } });
    assert.equal(mail.status, 201, JSON.stringify(mail.body));
    const campaign = await call('POST', '/campaigns', { name: 'Pre-collection', description: 'Remind before the due date' });
    const id = campaign.body.id as string;
    const stage = await call('POST', `/campaigns/${id}/stages`, {
      name: '1 Reminder', description: 'Email', channel: 'email_notification',
      settings: { integration: 'mail', subject: 'Payment due, {{name}}', template: '{{parameters.amount_due}} is due on {{parameters.due_date}}' },
    });
    assert.equal(stage.status, 201, JSON.stringify(stage.body));
    for (const [name, description, type, fileName] of [['Load', 'Plan', 'DATA_LOAD', 'data_load.py'], ['Outcome', 'Score', 'AGGREGATION', 'aggregation.py']]) {
      const r = await call('POST', `/campaigns/${id}/strategies`, form({ name, description, type, functionName: 'run', file: file(fileName, example(fileName)) }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const upload = await call('POST', `/campaigns/${id}/contacts/uploads`, form({ file: file('contacts.csv', example('contacts.csv'), 'text/csv') }));
    assert.equal(upload.status, 202, JSON.stringify(upload.body));
    await eventually(async () => (await call('GET', `/campaigns/${id}/contacts/uploads/${upload.body.id}`)).body.state === 'completed', { what: 'the upload' });
    assert.equal((await call('POST', `/campaigns/${id}/start`)).status, 200);
    await eventually(() => smtp.received.length >= 2 || undefined, { what: 'two reminders', timeoutMs: 30_000 });
    assert.deepEqual(smtp.received.map((m) => m.to[0]).sort(), ['jane@example.com', 'john@example.com']);
    assert.match(smtp.received.find((m) => m.to[0] === 'john@example.com')!.raw, /250 is due on 2026-07-01/);
    const contacts = await eventually(async () => {
      const r = await call('GET', `/campaigns/${id}/contacts`);
      return r.body.items.length === 2 && r.body.items.every((c: { outcome: string }) => c.outcome === 'SUCCESS') ? r.body.items : undefined;
    }, { what: 'both contacts in SUCCESS', timeoutMs: 30_000 });
    assert.equal(contacts.length, 2);
    const john = await call('GET', `/campaigns/${id}/contacts/o:C-1001`);
    assert.deepEqual(john.body.communications.map((c: { name: string; status: string }) => [c.name, c.status]), [['Payment reminder', 'COMPLETED']]);
  });
});
