import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { deterministicEventId, type RecordedEvent } from '@herald/contracts';
import { eventually, freePort, REPO_ROOT, startService, type ServiceProcess } from '@herald/testing';
import { DispatchFixture, sendJson, startStandIn } from '../testing/dispatch-fixture.spec';

/*
 * The external adapter protocol (docs/channel-adapters.md) end to end, on the
 * real Kafka broker and PostgreSQL: the dispatch service runs as its own
 * process (distributed mode, HERALD_EXTERNAL_CHANNELS=infobip, so no built-in
 * adapter serves that channel; its relay publishes the requests); the adapter
 * is a separate plain Node program (services/dispatch/test/external-sms-adapter.mjs,
 * kafkajs and @grpc/grpc-js only) that claims over gRPC and answers on
 * dispatch.status. The loopback HTTP server stands in for the SMS gateway
 * such an adapter talks to (POST /messages {to, text} -> {id}).
 */
describe('external channel adapter: a separate program serves a channel through Kafka and gRPC', () => {
  const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const prefix = `ext-${randomBytes(4).toString('hex')}.`;
  let f: DispatchFixture;
  let gateway: Awaited<ReturnType<typeof startStandIn>>;
  let dispatch: ServiceProcess;
  let adapter: ChildProcess;
  let adapterLog = '';
  let campaignId: string;
  let sent = 0;

  before(async () => {
    gateway = await startStandIn((req, res) => sendJson(res, 200, { id: `sms-${++sent}` }));
    // The fixture gives the database, the event store and helpers to append starts as the scheduler does; its own runtime runs no consumers.
    f = await DispatchFixture.create({ workers: false });
    const grpcUrl = `127.0.0.1:${await freePort()}`;
    dispatch = startService('dispatch', {
      DATABASE_URL: f.db.url, KAFKA_BROKERS: BROKERS, KAFKA_TOPIC_PREFIX: prefix, DISPATCH_GRPC_URL: grpcUrl, HERALD_EXTERNAL_CHANNELS: 'infobip',
    });
    await eventually(() => {
      if (dispatch.child.exitCode !== null) throw new Error(`dispatch exited\n${dispatch.output()}`);
      return /ready \(gRPC/.test(dispatch.output());
    }, { what: 'the dispatch service', timeoutMs: 60_000 });
    adapter = spawn(process.execPath, [join(REPO_ROOT, 'services/dispatch/test/external-sms-adapter.mjs')], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH, KAFKA_BROKERS: BROKERS, KAFKA_TOPIC_PREFIX: prefix, CHANNEL: 'infobip', DISPATCH_GRPC_URL: grpcUrl,
        PROTO_PATH: join(REPO_ROOT, 'proto/herald/dispatch.proto'), PROVIDER_URL: gateway.url, GROUP_ID: `${prefix}sms-adapter`, REPEAT_STATUS: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    adapter.stdout!.on('data', (d: Buffer) => (adapterLog += d.toString()));
    adapter.stderr!.on('data', (d: Buffer) => (adapterLog += d.toString()));
    await eventually(() => {
      if (adapter.exitCode !== null) throw new Error(`the adapter exited\n${adapterLog}`);
      return /ready: consuming/.test(adapterLog);
    }, { what: 'the adapter to join its consumer group', timeoutMs: 60_000 });
    campaignId = await f.campaign([
      { name: 'SMS', description: 'd', channel: 'infobip', agent: null, settings: { startPhrase: 'Hello {{name}}, {{amount}} EUR is due' } },
      { name: 'AB', description: 'd', channel: 'infobip', agent: null, settings: { startPhrase: 'control' }, variants: [
        { label: 'A', group: 'control', weight: 1, channel: 'infobip', agent: null, settings: { startPhrase: 'text A' } },
        { label: 'B', group: 'experimental', weight: 1, channel: 'infobip', agent: null, settings: { startPhrase: 'text B' } },
      ] },
    ]);
  });
  after(async () => {
    if (adapter && adapter.exitCode === null) await new Promise((resolve) => { adapter.once('exit', resolve); adapter.kill('SIGTERM'); });
    await dispatch?.kill();
    await f?.close();
    await gateway?.close();
  });

  const commIdOf = (e: RecordedEvent) => (e.data as { communicationId: string }).communicationId;
  const diagnose = <T>() => (error: Error): T => { throw new Error(`${error.message}\n--- adapter\n${adapterLog}\n--- dispatch\n${dispatch.output().slice(-4000)}`); };
  const ended = (start: RecordedEvent) =>
    eventually(async () => ((await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined), { what: 'CommunicationEnded', timeoutMs: 60_000 }).catch(diagnose<Record<string, unknown>[]>());

  it('dispatches the request to the adapter, which sends once and ends the communication with its status, however often each status arrives', async () => {
    const start = await f.started(campaignId, 'SMS', 'infobip', { phone: '+15550001', name: 'Ann', parameters: { amount: 120 } });
    const ends = await ended(start);
    assert.equal(ends.length, 1);
    const sessionId = deterministicEventId(`session:${commIdOf(start)}`);
    assert.deepEqual([ends[0].status, ends[0].sessionStatus, ends[0].result], ['COMPLETED', 'DELIVERED', null]);
    assert.deepEqual(ends[0].sessionResults, { OutcomeStatus: 'SUCCESS', delivered: true, providerMessageId: 'sms-1', sessionId });
    assert.deepEqual(gateway.requests.map((r) => r.json), [{ to: '+15550001', text: 'Hello Ann, 120 EUR is due' }], 'the rendered opening, sent once');

    // Each status was published twice: one transcript message, one SENT update, one end.
    const messages = (await f.events(start.streamId, 'SessionMessageAdded')).map((e) => e.data as { role: string; content: string; sessionId: string });
    assert.deepEqual(messages.map((m) => [m.role, m.content, m.sessionId]), [['agent', 'Hello Ann, 120 EUR is due', sessionId]]);
    const updates = (await f.events(start.streamId, 'CommunicationUpdated')).map((e) => (e.data as { changes: Record<string, unknown> }).changes);
    assert.deepEqual(updates, [{ sessionId }, { sessionStatus: 'SENT' }]);
    const { rows } = await f.db.pool.query(`SELECT state, provider_message_id FROM dispatch_send_ledger WHERE communication_id = $1`, [commIdOf(start)]);
    assert.deepEqual(rows, [{ state: 'sent', provider_message_id: 'sms-1' }]);
  });

  it('a redelivered request is claimed by nobody: the adapter does not send it again', async () => {
    const start = await f.started(campaignId, 'SMS', 'infobip', { phone: '+15550002', name: 'Bob', parameters: { amount: 5 } });
    await ended(start);
    const before = gateway.requests.length;
    // Kafka delivers at least once: the same request on the topic again.
    const kafka = new Kafka({ clientId: 'redeliver', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: `${prefix}dispatch.requests.infobip`, messages: [{
      key: start.streamId, value: JSON.stringify({ ...start }), headers: { 'event-type': 'CommunicationStarted', 'workspace-id': f.ws, 'stream-id': start.streamId },
    }] });
    await producer.disconnect();
    await eventually(() => adapterLog.includes(`skipped ${commIdOf(start)}: claimed before`), { what: 'the adapter to skip the redelivery', timeoutMs: 30_000 }).catch(diagnose());
    assert.equal(gateway.requests.length, before);
    assert.equal((await f.ends(start.streamId)).length, 1);
  });

  it('ends with the adapter\'s ERROR when it cannot send, and records the A/B variant chosen at the claim', async () => {
    const none = await f.started(campaignId, 'SMS', 'infobip', { phone: null, name: 'Cy' });
    const [end] = await ended(none);
    assert.deepEqual([end.status, end.sessionStatus, end.result], ['ERROR', 'NOT_SENT', 'the contact has no phone number']);

    const ab = await f.started(campaignId, 'AB', 'infobip', { phone: '+15550003' });
    await ended(ab);
    const variant = (await f.events(ab.streamId, 'CommunicationUpdated')).map((e) => (e.data as { changes: { variant?: string } }).changes.variant).find(Boolean);
    assert.ok(variant === 'A' || variant === 'B', `the chosen label is on the communication (got ${variant})`);
    const sentAb = gateway.requests.find((r) => (r.json as { to: string }).to === '+15550003');
    assert.equal((sentAb?.json as { text: string } | undefined)?.text, `text ${variant}`, 'the variant recorded is the one the adapter was given');
  });
});
