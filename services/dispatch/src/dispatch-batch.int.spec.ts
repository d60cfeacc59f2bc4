import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deterministicEventId, newEvent, type RecordedEvent } from '@herald/contracts';
import { KafkaBus, Relay, type RelayHandle } from '@herald/bus';
import { eventually, startSmtpServer } from '@herald/testing';
import { UNKNOWN_DELIVERY } from './dispatch-handler';
import { DispatchFixture, sendJson, startStandIn } from './testing/dispatch-fixture.spec';

/*
 * The batch path of dispatch (DispatchHandler.handleBatch, what the senders'
 * consumer runs for a delivered batch), on real PostgreSQL: a real SMTP
 * server on loopback (smtp-server), and a loopback HTTP server standing in
 * for Meta's WhatsApp Cloud API (POST /{version}/{phone-number-id}/messages
 * answered {messaging_product, contacts, messages: [{id}]}).
 */
describe('dispatch in batches: the same outcomes as one by one', () => {
  let f: DispatchFixture;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let meta: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  let n = 0;
  const ends = async (e: RecordedEvent) => f.ends(e.streamId);
  const commIdOf = (e: RecordedEvent) => (e.data as { communicationId: string }).communicationId;
  const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));

  before(async () => {
    smtp = await startSmtpServer();
    meta = await startStandIn((req, res) => {
      const body = req.json as { to: string };
      sendJson(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: body.to }], messages: [{ id: `wamid.${++n}` }] });
    });
    f = await DispatchFixture.create({ workers: false });
    await f.rt.integrations.configure(f.ws, { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, from: 'noreply@herald.example' } });
    await f.rt.integrations.configure(f.ws, { name: 'wa', type: 'whatsapp', config: { phoneNumberId: '1100', accessToken: 't', appSecret: 's', verifyToken: 'v', apiUrl: meta.url } });
    await f.rt.agents.save(f.ws, { name: 'Bot', backend: 'scripted', channels: ['whatsapp'], integrations: ['wa'], states: [{ name: 'start', start: true }],
      scripted: { rules: [{ match: 'pay', reply: 'Thanks {{name}}', end: true, results: { OutcomeStatus: 'PROMISED' } }] } });
    campaignId = await f.campaign([
      { name: 'Mail', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'Hi {{name}}', template: 'Due: {{amount}}' } },
      { name: 'AB', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 's', template: 'control' }, variants: [
        { label: 'A', group: 'control', weight: 1, channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'A', template: 'text A' } },
        { label: 'B', group: 'experimental', weight: 1, channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'B', template: 'text B' } },
      ] },
      { name: 'WA', description: 'd', channel: 'whatsapp', agent: 'Bot', settings: { integration: 'wa', templateName: 'payment_due' } },
    ]);
  });
  after(async () => {
    await f.close();
    await smtp.close();
    await meta.close();
  });

  it('sends each request once, ends each communication once, and keeps every exception of the one-by-one path', async () => {
    const plain = await Promise.all(Array.from({ length: 30 }, (_, i) => f.started(campaignId, 'Mail', 'email_notification', { name: `C${i}`, email: `c${i}@example.com`, parameters: { amount: i } })));
    const noEmail = await f.started(campaignId, 'Mail', 'email_notification', { email: null });
    await f.rt.optOuts.record(f.ws, 'email_notification', 'Gone@Example.com', 'STOP');
    const optedOut = await f.started(campaignId, 'Mail', 'email_notification', { email: 'gone@example.com' });
    const crashed = await f.started(campaignId, 'Mail', 'email_notification', { email: 'crashed@example.com' });
    await f.db.pool.query(`INSERT INTO dispatch_send_ledger (communication_id, workspace_id, channel, state, updated_at) VALUES ($1, $2, 'email_notification', 'sending', now() - interval '10 minutes')`, [commIdOf(crashed), f.ws]);
    const busy = await f.started(campaignId, 'Mail', 'email_notification', { email: 'busy@example.com' });
    await f.db.pool.query(`INSERT INTO dispatch_send_ledger (communication_id, workspace_id, channel, state) VALUES ($1, $2, 'email_notification', 'sending')`, [commIdOf(busy), f.ws]);
    const ab = await Promise.all(Array.from({ length: 6 }, (_, i) => f.started(campaignId, 'AB', 'email_notification', { email: `ab${i}@example.com` })));
    // A second communication of one contact in the same batch.
    const twice = plain[0];
    const secondId = randomUUID();
    await f.store.append(twice.streamId, [
      newEvent('CommunicationPlanned', { communication: { id: secondId, name: 'second', stageName: 'Mail', startDate: new Date().toISOString(), endDate: null } }, { workspaceId: f.ws }),
      newEvent('CommunicationStarted', { communicationId: secondId, campaignId, contactKey: (twice.data as { contactKey: string }).contactKey, stageName: 'Mail', channel: 'email_notification', agent: null, variant: null, startedAt: new Date().toISOString(), sessionId: null }, { workspaceId: f.ws }),
    ], 'any');
    const second = (await f.events(twice.streamId, 'CommunicationStarted'))[1];

    const batch = [...plain, second, noEmail, optedOut, crashed, busy, ...ab, plain[1]];
    const errors = await f.rt.handler.handleBatch(batch, { concurrency: 8, group: 'test' });
    assert.deepEqual(errors.map((e, i) => (e ? i : null)).filter((i) => i !== null), [batch.indexOf(busy)], 'only the send another dispatcher holds fails (retried later)');
    assert.match(String((errors[batch.indexOf(busy)] as Error).message), /being sent by another dispatcher/);

    for (const [i, start] of plain.entries()) {
      assert.equal(mailsTo(`c${i}@example.com`).length, i === 0 ? 2 : 1, `c${i}: one email per communication`);
      assert.match(mailsTo(`c${i}@example.com`)[0].raw, new RegExp(`Subject: Hi C${i}`));
      const contactEnds = await ends(start);
      assert.deepEqual(contactEnds.map((e) => [e.status, e.sessionStatus]), i === 0 ? [['COMPLETED', 'DELIVERED'], ['COMPLETED', 'DELIVERED']] : [['COMPLETED', 'DELIVERED']]);
    }
    assert.deepEqual((await ends(noEmail)).map((e) => [e.status, e.result]), [['ERROR', 'the contact has no email address']]);
    assert.deepEqual((await ends(optedOut)).map((e) => [e.status, e.sessionStatus]), [['ERROR', 'OPTED_OUT']]);
    assert.equal(mailsTo('gone@example.com').length, 0);
    assert.deepEqual((await ends(crashed)).map((e) => [e.status, e.result]), [['ERROR', UNKNOWN_DELIVERY]]);
    assert.equal(mailsTo('crashed@example.com').length, 0, 'never sent after a crash mid-send');
    assert.deepEqual(await ends(busy), []);
    for (const [i, start] of ab.entries()) {
      const variant = (await f.events(start.streamId, 'CommunicationUpdated')).map((e) => (e.data as { changes: { variant?: string } }).changes.variant).find(Boolean);
      assert.ok(variant === 'A' || variant === 'B', 'the label chosen here is recorded');
      assert.match(mailsTo(`ab${i}@example.com`)[0].raw, new RegExp(`Subject: ${variant}`));
    }
    const { rows } = await f.db.pool.query(`SELECT count(*)::int AS n FROM dispatch_send_ledger WHERE state = 'sending'`);
    assert.equal(rows[0].n, 1, 'every ledger row but the busy one is final');

    // The whole batch delivered again: nothing is sent twice, nothing ends twice.
    const sentBefore = smtp.received.length;
    const again = await f.rt.handler.handleBatch(batch.filter((e) => e !== busy), { concurrency: 8, group: 'test' });
    assert.deepEqual(again.filter(Boolean), []);
    assert.equal(smtp.received.length, sentBefore);
    for (const start of [...plain, noEmail, optedOut, crashed, ...ab]) assert.equal((await ends(start)).filter((e) => e.communicationId === commIdOf(start)).length, 1);
  });

  it('opens two-way conversations in a batch: sessions, openings and provider message ids in place, so that replies and reports find them', async () => {
    const starts = await Promise.all(Array.from({ length: 5 }, (_, i) => f.started(campaignId, 'WA', 'whatsapp', { name: `W${i}`, phone: `+1555000010${i}` }, { agent: 'Bot' })));
    assert.deepEqual((await f.rt.handler.handleBatch(starts, { concurrency: 4, group: 'test' })).filter(Boolean), []);
    assert.equal(meta.requests.length, 5);
    for (const [i, start] of starts.entries()) {
      const sessionId = deterministicEventId(`session:${commIdOf(start)}`);
      const session = await f.rt.sessions.get(sessionId);
      assert.deepEqual([session?.status, session?.address, session?.state, session?.thread], ['open', `1555000010${i}`, 'start', { to: `1555000010${i}` }]);
      const messages = (await f.events(start.streamId, 'SessionMessageAdded')).map((e) => (e.data as { role: string; content: string }));
      assert.deepEqual(messages, [{ ...messages[0], role: 'agent', content: '[template payment_due]' }]);
      assert.deepEqual((await f.events(start.streamId, 'CommunicationUpdated')).map((e) => (e.data as { changes: unknown }).changes), [{ sessionId }]);
      const wamid = ((await f.db.pool.query(`SELECT provider_message_id FROM dispatch_send_ledger WHERE communication_id = $1`, [commIdOf(start)])).rows[0]).provider_message_id;
      assert.equal((await f.rt.sessions.byProviderMessage(f.ws, 'wa', wamid))?.sessionId, sessionId, 'delivery reports find the session');
      assert.equal((await f.rt.sessions.openFor(f.ws, 'whatsapp', `1555000010${i}`))?.sessionId, sessionId, 'replies from the number find the session');
      assert.deepEqual(await ends(start), []);
    }
  });
});

describe('dispatch in batches through the senders consumer', () => {
  let f: DispatchFixture;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;

  before(async () => {
    smtp = await startSmtpServer();
    f = await DispatchFixture.create();
  });
  after(async () => {
    await f.close();
    await smtp.close();
  });

  it('carries out requests appended at once, each exactly once', async () => {
    await f.rt.integrations.configure(f.ws, { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, from: 'noreply@herald.example' } });
    const campaignId = await f.campaign([{ name: 'Mail', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'Hi', template: 'T' } }]);
    const starts = await Promise.all(Array.from({ length: 60 }, (_, i) => f.started(campaignId, 'Mail', 'email_notification', { email: `k${i}@example.com` })));
    await eventually(async () => {
      const { rows } = await f.db.pool.query(`SELECT count(*)::int AS n FROM herald_events WHERE type = 'CommunicationEnded'`);
      return rows[0].n === 60 || undefined;
    }, { what: 'sixty ends', timeoutMs: 30_000 });
    assert.equal(smtp.received.length, 60);
    assert.equal(new Set(smtp.received.map((m) => m.to[0])).size, 60);
    for (const s of starts) assert.equal((await f.ends(s.streamId)).length, 1);
  });
});

// The distributed transport: the relay publishes the requests to the real Kafka broker, the senders consume them in chunks of a partition's fetch.
describe('dispatch in batches over Kafka', () => {
  let f: DispatchFixture;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let bus: KafkaBus;
  let relay: RelayHandle;
  let workers: { stop(): Promise<void> };

  before(async () => {
    smtp = await startSmtpServer();
    f = await DispatchFixture.create({ workers: false });
    bus = new KafkaBus({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'dispatch-batch-test', topicPrefix: `batch-${randomUUID().slice(0, 8)}.` });
    relay = await Relay.start({ store: f.store, publisher: bus, pool: f.db.pool, retryMs: 100 });
    workers = await f.rt.startWorkers(bus);
  });
  after(async () => {
    await workers?.stop();
    await relay?.stop();
    await bus?.close();
    await f.close();
    await smtp.close();
  });

  it('sends each request the relay publishes once and ends it', async () => {
    await f.rt.integrations.configure(f.ws, { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, from: 'noreply@herald.example' } });
    const campaignId = await f.campaign([{ name: 'Mail', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: 'Hi', template: 'T' } }]);
    const starts = await Promise.all(Array.from({ length: 40 }, (_, i) => f.started(campaignId, 'Mail', 'email_notification', { email: `q${i}@example.com` })));
    await eventually(async () => {
      const { rows } = await f.db.pool.query(`SELECT count(*)::int AS n FROM herald_events WHERE type = 'CommunicationEnded'`);
      return rows[0].n === 40 || undefined;
    }, { what: 'forty ends', timeoutMs: 60_000 });
    assert.equal(smtp.received.length, 40);
    for (const s of starts) assert.deepEqual((await f.ends(s.streamId)).map((e) => e.status), ['COMPLETED']);
  });
});
