// An external channel adapter written the way a third party would write one
// (docs/channel-adapters.md): plain Node.js with kafkajs and @grpc/grpc-js,
// no Herald code. It serves one channel for an SMS gateway reached over HTTP:
//
//   1. consume dispatch.requests.<channel> (the CommunicationStarted events),
//   2. claim each request with Dispatch.ClaimExternalDispatch (gRPC, proto/herald/dispatch.proto),
//      and send only when claimed is true,
//   3. POST the opening to the gateway ({to, text} -> {id}),
//   4. answer on dispatch.status: SENT with the transcript message, then COMPLETED (or ERROR).
//
// Environment: KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, CHANNEL, DISPATCH_GRPC_URL, PROTO_PATH (dispatch.proto),
// PROVIDER_URL (the SMS gateway), GROUP_ID, REPEAT_STATUS (publish every status this many times, as an
// at-least-once producer may).
import { randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { Kafka, logLevel } from 'kafkajs';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};
const prefix = env('KAFKA_TOPIC_PREFIX', '');
const channel = env('CHANNEL');
const requests = `${prefix}dispatch.requests.${channel}`;
const statuses = `${prefix}dispatch.status`;
const repeat = Number(env('REPEAT_STATUS', '1'));
const providerUrl = env('PROVIDER_URL');

const definition = protoLoader.loadSync(env('PROTO_PATH'), { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const { Dispatch } = grpc.loadPackageDefinition(definition).herald.dispatch.v1;
const dispatch = new Dispatch(env('DISPATCH_GRPC_URL'), grpc.credentials.createInsecure());
const claim = (request) => new Promise((resolve, reject) => dispatch.claimExternalDispatch(request, (error, reply) => (error ? reject(error) : resolve(reply))));

const kafka = new Kafka({ clientId: 'sms-adapter', brokers: env('KAFKA_BROKERS').split(','), logLevel: logLevel.WARN });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = kafka.consumer({ groupId: env('GROUP_ID', `${prefix}sms-adapter`), maxWaitTimeInMs: 500 });

async function ensureTopics() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [requests, statuses].filter((t) => !existing.has(t));
    if (missing.length) await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: 3 })) });
  } finally {
    await admin.disconnect();
  }
}

async function report(request, status) {
  const value = JSON.stringify({ workspaceId: request.workspaceId, streamId: request.streamId, communicationId: request.communicationId, statusId: randomUUID(), ...status });
  for (let i = 0; i < repeat; i++) await producer.send({ topic: statuses, acks: -1, messages: [{ key: request.streamId, value }] });
}

async function handle(message) {
  const header = (name) => message.headers?.[name]?.toString();
  if (header('event-type') !== 'CommunicationStarted') return;
  const event = JSON.parse(message.value.toString('utf8'));
  const request = { workspaceId: header('workspace-id') ?? event.metadata.workspaceId, streamId: event.streamId, communicationId: event.data.communicationId };
  const dispatchRequest = await claim(request);
  if (!dispatchRequest.claimed) {
    console.log(`skipped ${request.communicationId}: claimed before`);
    return;
  }
  const phone = dispatchRequest.contact.phone;
  const text = dispatchRequest.opening || String(JSON.parse(dispatchRequest.settingsJson || '{}').text ?? '');
  if (!phone) return report(request, { status: 'ERROR', sessionStatus: 'NOT_SENT', result: 'the contact has no phone number' });
  let answer;
  try {
    const response = await fetch(`${providerUrl}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: phone, text }) });
    if (!response.ok) return report(request, { status: 'ERROR', sessionStatus: 'REJECTED', result: `gateway answered ${response.status}` });
    answer = await response.json();
  } catch (error) {
    // The request may have reached the gateway: report the doubt, never send again.
    return report(request, { status: 'ERROR', sessionStatus: 'UNKNOWN', result: `gateway: ${error.message}` });
  }
  await report(request, { status: 'SENT', sessionStatus: 'SENT', providerMessageId: answer.id, messages: [{ messageId: `out-${answer.id}`, role: 'agent', content: text, createdAt: new Date().toISOString() }] });
  await report(request, { status: 'COMPLETED', sessionStatus: 'DELIVERED', providerMessageId: answer.id, sessionResults: { OutcomeStatus: 'SUCCESS', delivered: true, providerMessageId: answer.id } });
  console.log(`sent ${request.communicationId} as ${answer.id}`);
}

await ensureTopics();
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: [requests], fromBeginning: true });
// The offset is committed only after handle() resolved: a crash redelivers, and the claim keeps the send single.
consumer.on(consumer.events.GROUP_JOIN, () => console.log(`ready: consuming ${requests}`));
await consumer.run({ eachMessage: ({ message }) => handle(message) });

const stop = async () => {
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  dispatch.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
