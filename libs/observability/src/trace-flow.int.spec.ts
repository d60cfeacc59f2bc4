/**
 * One request followed across every transport Herald uses, over real
 * servers: an HTTP request (as the gateway receives it) calls a service
 * over gRPC (the Dispatch proto and our gRPC client), whose handler appends
 * an event; the relay publishes it to Kafka; a consumer group (scheduler's
 * role) handles it and appends the CommunicationStarted that the relay
 * routes to dispatch.requests.<channel>; a second group (dispatch's role)
 * handles that and appends the end. Every span must be in one trace, each
 * the child of the one before: HTTP headers, gRPC metadata, event metadata
 * and the Kafka traceparent header carry the context.
 */
import { exporter } from './trace-flow.tracing';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { causedBy, contactStreamId, deterministicEventId, newEvent, TOPICS, dispatchRequestsTopic } from '@herald/contracts';
import { PostgresEventStore, type EventStore } from '@herald/event-store';
import { KafkaBus, Relay, type BusSubscription, type RelayHandle } from '@herald/bus';
import { PROTO_DIR, startConsumer } from '@herald/service-defaults';
import { grpcClient } from '@herald/service-clients';
import { createTestDatabase, eventually, freePort, type TestDatabase } from '@herald/testing';
import { instrumentEventStore } from './instrumented-store';
import { stopTracing } from './sdk';

const CAMPAIGN = '6f1d8a52-3c1e-4b8e-9a57-2f0c1f7d4e10';
const STREAM = contactStreamId(CAMPAIGN, 'o:1');

describe('one request traced across HTTP, gRPC, the event store and Kafka', () => {
  let db: TestDatabase;
  let store: EventStore;
  let bus: KafkaBus;
  let relay: RelayHandle;
  let grpcServer: grpc.Server;
  let http: HttpServer;
  let httpUrl: string;
  const subs: BusSubscription[] = [];
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));

  before(async () => {
    db = await createTestDatabase();
    store = instrumentEventStore(await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 }), 'trace-test');
    bus = new KafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'trace-flow', topicPrefix: `trace-${randomBytes(3).toString('hex')}-`, partitions: 1 });
    relay = await Relay.start({ store, publisher: bus, pool: db.pool, retryMs: 50 });

    // gRPC: a Dispatch server whose ListIntegrations appends the planned communication.
    const definition = protoLoader.loadSync(join(PROTO_DIR, 'herald/dispatch.proto'), { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] });
    const pkg = grpc.loadPackageDefinition(definition) as any;
    grpcServer = new grpc.Server();
    grpcServer.addService(pkg.herald.dispatch.v1.Dispatch.service, {
      listIntegrations: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        store.append(STREAM, [
          newEvent('ContactCreated', { campaignId: CAMPAIGN, key: 'o:1', objectId: '1', externalId: null, name: 'Ann', email: 'ann@example.com', phone: null, parameters: {}, uploadId: null, row: 1 }, { workspaceId: 'w' }),
          newEvent('CommunicationPlanned', { communication: { id: 'comm-1', name: 'mail', stageName: '1 Reminder', startDate: new Date().toISOString(), endDate: null } }, { workspaceId: 'w' }),
        ], 'no_stream').then(() => callback(null, { integrationsJson: [] }), (e) => callback(e));
      },
    });
    const grpcPort = await freePort();
    await new Promise<void>((resolve, reject) => grpcServer.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    const dispatch = grpcClient('dispatch', `127.0.0.1:${grpcPort}`);

    // HTTP: the gateway's role, calling the service over gRPC.
    http = createServer((req, res) => {
      dispatch.call.listIntegrations({ workspaceId: 'w' }).then(() => { res.writeHead(202); res.end(); }, (e) => { res.writeHead(500); res.end(String(e)); });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    httpUrl = `http://127.0.0.1:${(http.address() as { port: number }).port}/api/campaigns/${CAMPAIGN}/contacts/uploads`;

    // Kafka consumers in the scheduler's and dispatch's roles.
    subs.push(await startConsumer(bus, db.pool, {
      group: 'scheduler.timers', topics: [TOPICS.contactEvents],
      handle: async (event) => {
        if (event.type !== 'CommunicationPlanned') return;
        const history = await store.readStream(event.streamId);
        await store.append(event.streamId, [newEvent('CommunicationStarted', {
          communicationId: 'comm-1', campaignId: CAMPAIGN, contactKey: 'o:1', stageName: '1 Reminder', channel: 'email_notification',
          agent: null, variant: null, startedAt: new Date().toISOString(), sessionId: null,
        }, causedBy(event, { eventId: deterministicEventId('fire:comm-1') }))], history.at(-1)!.revision);
      },
    }));
    subs.push(await startConsumer(bus, db.pool, {
      group: 'dispatch.email', topics: [dispatchRequestsTopic('email_notification')],
      handle: async (event) => {
        const history = await store.readStream(event.streamId);
        await store.append(event.streamId, [newEvent('CommunicationEnded', {
          communicationId: 'comm-1', status: 'COMPLETED', sessionStatus: 'SENT', result: null, finishedAt: new Date().toISOString(), sessionResults: null,
        }, causedBy(event, { eventId: deterministicEventId('end:comm-1') }))], history.at(-1)!.revision).catch(() => undefined);
        ended();
      },
    }));
  });

  after(async () => {
    for (const s of subs) await s.close().catch(() => undefined);
    await relay?.stop().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    grpcServer?.forceShutdown();
    http?.close();
    await db?.drop();
    await stopTracing();
  });

  it('links HTTP server -> gRPC client -> gRPC server -> append -> Kafka consumer -> append -> Kafka consumer -> append', async () => {
    const res = await fetch(httpUrl, { method: 'POST' });
    assert.equal(res.status, 202);
    await done;
    // The dispatch delivery's span ends once its handler has returned.
    await eventually(() => exporter.getFinishedSpans().some((s) => s.attributes['messaging.consumer.group.name'] === 'dispatch.email'), { what: 'the dispatch delivery span' });
    const spans = exporter.getFinishedSpans();
    const httpServer = spans.find((s) => s.kind === SpanKind.SERVER && s.instrumentationScope.name.includes('http'));
    assert.ok(httpServer, `no HTTP server span among ${spans.map((s) => s.name).join(', ')}`);
    const trace = spans.filter((s) => s.spanContext().traceId === httpServer.spanContext().traceId);
    const byId = new Map(trace.map((s) => [s.spanContext().spanId, s]));
    const parentOf = (s: ReadableSpan) => byId.get(s.parentSpanContext?.spanId ?? '');
    const one = (what: string, pick: (s: ReadableSpan) => boolean) => {
      const found = trace.filter(pick);
      assert.equal(found.length, 1, `${what}: ${found.length} spans in the trace (${trace.map((s) => s.name).join(', ')})`);
      return found[0];
    };

    const grpcClientSpan = one('gRPC client', (s) => s.kind === SpanKind.CLIENT && String(s.name).includes('ListIntegrations'));
    const grpcServerSpan = one('gRPC server', (s) => s.kind === SpanKind.SERVER && String(s.name).includes('ListIntegrations'));
    const appendPlanned = one('append of the plan', (s) => s.name === 'herald.append contact' && (s.attributes['herald.event_types'] as string[]).includes('CommunicationPlanned'));
    const schedulerConsumer = one('scheduler delivery', (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.consumer.group.name'] === 'scheduler.timers' && s.attributes['herald.event_type'] === 'CommunicationPlanned');
    const appendStarted = one('append of the start', (s) => s.name === 'herald.append contact' && (s.attributes['herald.event_types'] as string[]).includes('CommunicationStarted'));
    const dispatchConsumer = one('dispatch delivery', (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.destination.name'] === 'dispatch.requests.email_notification');
    const appendEnded = one('append of the end', (s) => s.name === 'herald.append contact' && (s.attributes['herald.event_types'] as string[]).includes('CommunicationEnded'));

    assert.equal(parentOf(grpcClientSpan), httpServer, 'gRPC client span under the HTTP request');
    assert.equal(parentOf(grpcServerSpan), grpcClientSpan, 'gRPC metadata carried the context');
    assert.equal(parentOf(appendPlanned), grpcServerSpan, 'the append ran inside the gRPC handler');
    assert.equal(parentOf(schedulerConsumer), appendPlanned, 'the Kafka header carried the append span');
    assert.equal(parentOf(appendStarted), schedulerConsumer);
    assert.equal(parentOf(dispatchConsumer), appendStarted, 'the dispatch request carried the scheduler append span');
    assert.equal(parentOf(appendEnded), dispatchConsumer);

    // The stored events carry the context they were appended in.
    const events = await store.readStream(STREAM);
    const tp = (type: string) => events.find((e) => e.type === type)!.metadata.traceparent!;
    assert.equal(tp('CommunicationPlanned').split('-')[2], appendPlanned.spanContext().spanId);
    assert.equal(tp('CommunicationEnded').split('-')[1], httpServer.spanContext().traceId);
  });
});
