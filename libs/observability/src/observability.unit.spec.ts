import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace, SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { newEvent } from '@herald/contracts';
import { JsonLogger } from './json-logger';
import { heraldMetrics, registry, renderMetrics, addScrapeProbe } from './metrics';
import { startTracing, stopTracing } from './sdk';
import { contextFromTraceparent, currentTraceparent, inSpan, withTraceparent } from './tracing';
import { observeDelivery } from './consumer';
import { startOpsServer } from './ops-server';

const exporter = new InMemorySpanExporter();
startTracing({ serviceName: 'herald-unit', spanProcessors: [new SimpleSpanProcessor(exporter)], autoDetectResources: false });
after(() => stopTracing());

describe('trace context helpers', () => {
  it('round-trips a traceparent and parents spans on it', async () => {
    exporter.reset();
    let outer = '';
    await inSpan('outer', {}, async () => {
      outer = currentTraceparent()!;
    });
    assert.match(outer, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await withTraceparent(outer, 'later work', async () => undefined);
    const [first, second] = exporter.getFinishedSpans();
    assert.equal(second.name, 'later work');
    assert.equal(second.spanContext().traceId, first.spanContext().traceId);
    assert.equal(second.parentSpanContext?.spanId, first.spanContext().spanId);
    assert.equal(trace.getSpanContext(contextFromTraceparent('garbage')), undefined);
    assert.equal(currentTraceparent(), undefined);
  });

  it('runs a delivery in a consumer span parented on the event metadata, counting results', async () => {
    exporter.reset();
    let traceparent = '';
    await inSpan('producer', { kind: SpanKind.PRODUCER }, async () => { traceparent = currentTraceparent()!; });
    const event = { ...newEvent('CommunicationStarted', { channel: 'sms' }, { workspaceId: 'w', traceparent }), streamId: 'contact-c-1', revision: 0, position: 9 };
    let inside: string | undefined;
    const handler = observeDelivery('dispatch.test', async () => { inside = currentTraceparent(); });
    await handler(event, 'dispatch.requests.sms');
    const failing = observeDelivery('dispatch.test', async () => { throw new Error('provider down'); });
    await assert.rejects(failing(event, 'dispatch.requests.sms'), /provider down/);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'dispatch.requests.sms process');
    assert.equal(spans.length, 2);
    assert.equal(spans[0].parentSpanContext?.spanId, traceparent.split('-')[2]);
    assert.equal(spans[0].attributes['messaging.consumer.group.name'], 'dispatch.test');
    assert.equal(inside?.split('-')[2], spans[0].spanContext().spanId);
    const ok = await heraldMetrics.consumerHandled.get();
    const value = (result: string) => ok.values.find((v) => v.labels.group === 'dispatch.test' && v.labels.result === result)?.value;
    assert.equal(value('ok'), 1);
    assert.equal(value('error'), 1);
    const errors = (await heraldMetrics.sendErrors.get()).values.find((v) => v.labels.channel === 'sms');
    assert.equal(errors?.value, 1);
  });

  it('starts no span for an untraced event', async () => {
    exporter.reset();
    const event = { ...newEvent('X', {}, { workspaceId: 'w' }), streamId: 'contact-c-2', revision: 0, position: 1 };
    await context.with(context.active(), () => observeDelivery('g', async () => undefined)(event, 'contact.events'));
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});

describe('JSON logs', () => {
  it('writes one JSON object per line with level, context and the active trace ids', async () => {
    const lines: string[] = [];
    const logger = new JsonLogger('dispatch', (line) => lines.push(line));
    logger.log('plain', 'Ctx');
    await inSpan('traced', {}, async () => logger.error('failed', 'Error: boom\n    at x (y.ts:1:1)', 'Ctx'));
    logger.debug('hidden by default levels');
    logger.warn({ message: 'structured', contact: 'o:1' });
    assert.equal(lines.length, 3);
    const [a, b, c] = lines.map((l) => JSON.parse(l));
    assert.deepEqual([a.level, a.service, a.context, a.message, a.trace_id], ['info', 'dispatch', 'Ctx', 'plain', undefined]);
    assert.equal(b.level, 'error');
    assert.match(b.stack, /Error: boom/);
    assert.match(b.trace_id, /^[0-9a-f]{32}$/);
    assert.equal(c.contact, 'o:1');
    assert.ok(lines.every((l) => !l.includes('\n')));
  });

  it('leaves credentials out: secret fields, API keys and bearer tokens in any message', () => {
    const lines: string[] = [];
    const logger = new JsonLogger('gateway', (line) => lines.push(line));
    const key = 'hk_abcdefghijkl_' + 'S'.repeat(43);
    logger.warn({ message: `provider answered 401 for Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig`, config: { host: 'smtp.example', password: 'hunter22', apiKey: 'k-123', authToken: 'tw-9' } });
    logger.error(`request failed with ${key}`, 'Ctx');
    const [a, b] = lines.map((l) => JSON.parse(l));
    assert.deepEqual(a.config, { host: 'smtp.example', password: '[redacted]', apiKey: '[redacted]', authToken: '[redacted]' });
    assert.equal(a.message, 'provider answered 401 for Authorization: Bearer [redacted]');
    assert.equal(b.message, 'request failed with hk_abcdefghijkl_[redacted]');
    assert.ok(!lines.join('').includes('hunter22') && !lines.join('').includes('S'.repeat(43)));
  });
});

describe('metrics and the operations port', () => {
  it('exposes metrics, runs scrape probes, and answers liveness and readiness', async () => {
    const remove = addScrapeProbe(async () => heraldMetrics.relayLag.set(17));
    let dbUp = true;
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', readiness: { database: async () => { if (!dbUp) throw new Error('connection refused'); } } });
    try {
      const url = `http://127.0.0.1:${ops.port}`;
      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.headers.get('content-type'), registry.contentType);
      const text = await metrics.text();
      assert.match(text, /herald_relay_lag_events 17/);
      assert.match(text, /\nprocess_resident_memory_bytes/);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      dbUp = false;
      const down = await fetch(`${url}/readyz`);
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), { status: 'unavailable', failures: { database: 'connection refused' } });
      assert.equal((await fetch(`${url}/nope`)).status, 404);
    } finally {
      remove();
      await ops.close();
    }
    assert.match((await renderMetrics()).body, /herald_relay_lag_events 17/);
  });
});
