import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import type { RecordedEvent } from '@herald/contracts';
import { eventually, startSmtpServer } from '@herald/testing';
import { DispatchFixture } from '../../testing/dispatch-fixture.spec';
import { withoutQuote } from './email-communication.adapter';

// Real SMTP both ways: out to a loopback smtp-server, replies into Herald's own inbound SMTP server (nodemailer as the contact's mail client).
describe('Email Communication: two-way email threaded by Message-ID / In-Reply-To', () => {
  let f: DispatchFixture;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let campaignId: string;
  let client: ReturnType<typeof nodemailer.createTransport>;

  before(async () => {
    smtp = await startSmtpServer();
    f = await DispatchFixture.create({ inboundSmtp: { port: 0, host: '127.0.0.1' } });
    client = nodemailer.createTransport({ host: '127.0.0.1', port: f.rt.email.port!, secure: false, ignoreTLS: true });
    await f.rt.integrations.configure(f.ws, { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, from: 'Herald Bank <collect@bank.example>', replyTo: 'replies@in.bank.example' } });
    await f.rt.agents.save(f.ws, { name: 'Mailer', backend: 'scripted', channels: ['email_communication'], integrations: ['mail'],
      scripted: { rules: [{ match: 'transfer', reply: 'Thank you {{name}}, we will check the transfer.', end: true, results: { OutcomeStatus: 'PAID' } }], fallback: 'Could you tell us when you will pay?' } });
    campaignId = await f.campaign([{ name: 'Mail', description: 'd', channel: 'email_communication', agent: 'Mailer', settings: { subject: 'Your invoice, {{name}}', template: 'Dear {{name}}, {{amount}} is due.' } }]);
  });
  after(async () => {
    client.close();
    await f.close();
    await smtp.close();
  });

  const mailsTo = (to: string) => smtp.received.filter((m) => m.to.includes(to));
  const header = (raw: string, name: string) => new RegExp(`^${name}: *(.*)$`, 'mi').exec(raw.replace(/\r\n(?=[ \t])/g, ''))?.[1]?.trim();
  const messages = async (e: RecordedEvent) => (await f.events(e.streamId, 'SessionMessageAdded')).map((x) => (x.data as { role: string; content: string }));

  it('sends the template, takes the reply in by SMTP, answers in the same thread, and ends by the agent', async () => {
    const start = await f.started(campaignId, 'Mail', 'email_communication', { name: 'Ann', email: 'ann@example.com', parameters: { amount: '90 EUR' } }, { agent: 'Mailer' });
    await f.rt.handler.handle(start);
    const [first] = mailsTo('ann@example.com');
    const firstId = header(first.raw, 'Message-ID')!;
    assert.equal(header(first.raw, 'Subject'), 'Your invoice, Ann');
    assert.equal(header(first.raw, 'Reply-To'), 'replies@in.bank.example');
    assert.match(first.raw, /Dear Ann, 90 EUR is due\./);

    const reply = { from: 'Ann <ann@example.com>', to: 'replies@in.bank.example', subject: 'Re: Your invoice, Ann', messageId: '<r1@example.com>', inReplyTo: firstId, references: firstId,
      text: 'When is the deadline?\n\nOn Monday Herald Bank wrote:\n> Dear Ann, 90 EUR is due.' };
    await client.sendMail(reply);
    await client.sendMail(reply); // the same message delivered again
    await eventually(async () => mailsTo('ann@example.com').length === 2 || undefined, { what: 'the agent reply' });
    const answer = mailsTo('ann@example.com')[1];
    assert.equal(header(answer.raw, 'Subject'), 'Re: Your invoice, Ann');
    assert.equal(header(answer.raw, 'In-Reply-To'), '<r1@example.com>');
    assert.match(header(answer.raw, 'References')!, new RegExp(`${firstId.replace(/[<>.]/g, '\\$&')}.*<r1@example\\.com>`));
    assert.match(answer.raw, /Could you tell us when you will pay\?/);

    await client.sendMail({ from: 'ann@example.com', to: 'replies@in.bank.example', subject: 'Re: Your invoice', messageId: '<r2@example.com>',
      inReplyTo: header(answer.raw, 'Message-ID'), text: 'I made the transfer today.' });
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
    assert.deepEqual([end.status, (end.sessionResults as { OutcomeStatus: string }).OutcomeStatus], ['COMPLETED', 'PAID']);
    assert.deepEqual((await messages(start)).map((m) => `${m.role}: ${m.content}`), [
      'agent: Dear Ann, 90 EUR is due.', 'contact: When is the deadline?', 'agent: Could you tell us when you will pay?',
      'contact: I made the transfer today.', 'agent: Thank you Ann, we will check the transfer.']);
    assert.equal(mailsTo('ann@example.com').length, 3);
  });

  it('refuses mail that is not a reply to a conversation, or not from its contact', async () => {
    const start = await f.started(campaignId, 'Mail', 'email_communication', { email: 'bob@example.com' }, { agent: 'Mailer' });
    await f.rt.handler.handle(start);
    const firstId = header(mailsTo('bob@example.com')[0].raw, 'Message-ID')!;
    await assert.rejects(client.sendMail({ from: 'mallory@example.com', to: 'replies@in.bank.example', inReplyTo: firstId, text: 'I made the transfer' }), /550/);
    await assert.rejects(client.sendMail({ from: 'bob@example.com', to: 'replies@in.bank.example', text: 'hello' }), /550/);
    assert.equal((await messages(start)).length, 1);
  });

  it('cuts quoted text off replies', () => {
    assert.equal(withoutQuote('Yes.\r\n\r\n-----Original Message-----\r\nFrom: x'), 'Yes.');
    assert.equal(withoutQuote('Fine\n> quoted'), 'Fine');
  });
});
