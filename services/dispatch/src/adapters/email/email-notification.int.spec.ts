import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, type RecordedEvent } from '@herald/contracts';
import { startSmtpServer } from '@herald/testing';
import { UNKNOWN_DELIVERY } from '../../dispatch-handler';
import { DispatchFixture } from '../../testing/dispatch-fixture.spec';

// Real PostgreSQL and a real SMTP server on loopback (smtp-server): dispatch sends once per communication.
describe('dispatch: email notification through SMTP, once per communication', () => {
  let f: DispatchFixture;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let campaignId: string;

  before(async () => {
    f = await DispatchFixture.create({ workers: false });
    smtp = await startSmtpServer({ auth: { user: 'u', pass: 'secret' }, reject: (m) => (m.to.some((t) => t.startsWith('bounce')) ? 'mailbox unavailable' : null) });
    await f.rt.integrations.configure(f.ws, { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, from: 'Herald <noreply@herald.example>', user: 'u', password: 'secret' } });
    campaignId = await f.campaign([
      { name: 'Mail', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'Hi {{name}}', template: 'Amount {{parameters.amount}} due {{due}}; {{missing}}.' } },
      { name: 'Html', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'Hi', inputType: 'html', template: '<p>{{name}}</p>' } },
    ]);
  });
  after(async () => {
    await f.close();
    await smtp.close();
  });

  const started = (key: string, email: string | null, stage = 'Mail', name = 'Ann <Lee>') =>
    f.started(campaignId, stage, 'email_notification', { key, email, name, parameters: { amount: 120, due: '2026-12-01' } });
  const commIdOf = (e: RecordedEvent) => (e.data as { communicationId: string }).communicationId;

  it('keeps integrations per workspace, never shows the password, and names the wrong field', async () => {
    const [view] = await f.rt.integrations.list(f.ws);
    assert.equal(view.name, 'mail');
    assert.equal(view.hasPassword, true);
    assert.deepEqual(view.secrets, ['password']);
    assert.equal('password' in view.config, false);
    const { rows } = await f.db.pool.query(`SELECT config::text AS config, secrets FROM dispatch_integrations WHERE name = 'mail'`);
    assert.doesNotMatch(rows[0].config + rows[0].secrets, /secret/, 'the password is stored encrypted, not in clear');
    assert.deepEqual(await f.rt.integrations.list('another-workspace'), []);
    await assert.rejects(f.rt.integrations.configure(f.ws, { name: 'x', type: 'smtp', config: { host: 'h', port: 70000, from: 'a@b.c' } }), (e: DomainError) => /config\.port/.test(e.message));
    await assert.rejects(f.rt.integrations.configure(f.ws, { name: 'x', type: 'carrier-pigeon', config: {} }), (e: DomainError) => /^type/.test(e.message));
  });

  it('sends the rendered email once and ends the communication COMPLETED, even when the request is delivered again', async () => {
    const event = await started('o:ann', 'ann@example.com');
    await f.rt.handler.handle(event);
    await f.rt.handler.handle(event);
    await Promise.all([f.rt.handler.handle(event), f.rt.handler.handle(event)]);
    const mails = smtp.received.filter((m) => m.to.includes('ann@example.com'));
    assert.equal(mails.length, 1, 'one email whatever the redeliveries');
    assert.match(mails[0].raw, /Subject: Hi Ann <Lee>/);
    assert.match(mails[0].raw, /Amount 120 due 2026-12-01; \./);
    assert.match(mails[0].raw, new RegExp(`Message-ID: <${commIdOf(event)}@herald>`, 'i'));
    const unfolded = mails[0].raw.replace(/\r\n(?=[ \t])/g, '');
    assert.match(unfolded, /List-Unsubscribe: *<http:\/\/herald\.test\/api\/unsubscribe\/[\w-]+\.[\w-]+>/);
    assert.match(unfolded, /List-Unsubscribe-Post: List-Unsubscribe=One-Click/);
    const ends = await f.ends(event.streamId);
    assert.equal(ends.length, 1);
    assert.equal(ends[0].status, 'COMPLETED');
    assert.equal(ends[0].sessionStatus, 'DELIVERED');
    assert.equal((ends[0].sessionResults as { delivered: boolean }).delivered, true);
  });

  it('one-click unsubscribe (RFC 8058): GET only asks, POST opts the address out, a forged token is refused', async () => {
    const mail = smtp.received.find((m) => m.to.includes('ann@example.com'))!;
    const url = /List-Unsubscribe: *<([^>]+)>/.exec(mail.raw.replace(/\r\n(?=[ \t])/g, ''))![1];
    const token = url.split('/').pop()!;
    const page = await f.rt.unsubscribe.handle(token, false);
    assert.equal(page.status, 200);
    assert.match(page.body, /<form method="post">/);
    assert.equal(await f.rt.optOuts.isOptedOut(f.ws, 'email_notification', 'ann@example.com'), false, 'a GET (link scanner) changes nothing');
    const forged = await f.rt.unsubscribe.handle(token.slice(0, -10) + (token.at(-10) === 'A' ? 'B' : 'A') + token.slice(-9), true);
    assert.equal(forged.status, 403);
    assert.equal((await f.rt.unsubscribe.handle(token, true)).status, 200);
    assert.equal(await f.rt.optOuts.isOptedOut(f.ws, 'email_notification', 'ANN@example.com'), true);
    const again = await started('o:ann2', 'ann@example.com');
    await f.rt.handler.handle(again);
    assert.deepEqual((await f.ends(again.streamId)).map((e) => [e.status, e.sessionStatus]), [['ERROR', 'OPTED_OUT']]);
    assert.equal(smtp.received.filter((m) => m.to.includes('ann@example.com')).length, 1, 'nothing more is sent to an opted-out address');
  });

  it('escapes contact values in HTML templates', async () => {
    const event = await started('o:html', 'html@example.com', 'Html', '<script>x</script>');
    await f.rt.handler.handle(event);
    const mail = smtp.received.find((m) => m.to.includes('html@example.com'));
    assert.ok(mail);
    assert.match(mail!.raw, /&lt;script&gt;x&lt;\/script&gt;/);
  });

  it('ends with ERROR when the contact has no email or the server refuses the recipient', async () => {
    const none = await started('o:none', null);
    await f.rt.handler.handle(none);
    assert.deepEqual((await f.ends(none.streamId)).map((e) => [e.status, e.result]), [['ERROR', 'the contact has no email address']]);
    const bounce = await started('o:bounce', 'bounce@example.com');
    await f.rt.handler.handle(bounce);
    const [end] = await f.ends(bounce.streamId);
    assert.equal(end.status, 'ERROR');
    assert.match(String(end.result), /mailbox unavailable/);
  });

  it('never sends again after a crash between claiming the send and recording it', async () => {
    const event = await started('o:crash', 'crash@example.com');
    await f.db.pool.query(`INSERT INTO dispatch_send_ledger (communication_id, workspace_id, channel, state, updated_at) VALUES ($1, $2, 'email_notification', 'sending', now() - interval '10 minutes')`, [commIdOf(event), f.ws]);
    await f.rt.handler.handle(event);
    assert.equal(smtp.received.filter((m) => m.to.includes('crash@example.com')).length, 0);
    assert.deepEqual((await f.ends(event.streamId)).map((e) => [e.status, e.result]), [['ERROR', UNKNOWN_DELIVERY]]);
  });

  it('leaves a send another dispatcher is still carrying out to it (the delivery is retried later)', async () => {
    const event = await started('o:busy', 'busy@example.com');
    await f.db.pool.query(`INSERT INTO dispatch_send_ledger (communication_id, workspace_id, channel, state) VALUES ($1, $2, 'email_notification', 'sending')`, [commIdOf(event), f.ws]);
    await assert.rejects(f.rt.handler.handle(event), /being sent by another dispatcher/);
    assert.deepEqual(await f.ends(event.streamId), []);
  });
});
