import {
  context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * Trace context helpers. Herald carries the W3C `traceparent` of the span
 * that appended an event in the event's metadata and in the Kafka header of
 * the same name, so a consumer in another process continues the trace.
 * Without a started SDK (tracing off) every helper is a cheap no-op.
 */
const w3c = new W3CTraceContextPropagator();
const getter = { keys: (c: Record<string, string>) => Object.keys(c), get: (c: Record<string, string>, k: string) => c[k] };
const setter = { set: (c: Record<string, string>, k: string, v: string) => void (c[k] = v) };

export const TRACER_NAME = 'herald';
export const tracer = () => trace.getTracer(TRACER_NAME);

/** The `traceparent` of the active span, or undefined outside a (sampled or not) recording span. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  if (!trace.getSpanContext(ctx)) return undefined;
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, setter);
  return carrier.traceparent;
}

/** A context whose parent is the span a `traceparent` names (ROOT when absent or malformed). */
export function contextFromTraceparent(traceparent: string | undefined | null, base: Context = ROOT_CONTEXT): Context {
  if (!traceparent) return base;
  return w3c.extract(base, { traceparent }, getter);
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** Parent: this context instead of the active one. */
  readonly parent?: Context;
}

/** Runs `fn` inside a new span; the span ends when `fn` settles and records an exception as an error. */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * Continues a trace stored earlier (an upload row, a timer row, an event's
 * metadata) in background work that runs outside the request that started
 * it: `fn` runs inside a span whose parent is that traceparent.
 */
export function withTraceparent<T>(traceparent: string | null | undefined, name: string, fn: () => Promise<T>, attributes?: Attributes): Promise<T> {
  if (!traceparent) return fn();
  return inSpan(name, { parent: contextFromTraceparent(traceparent), attributes }, () => fn());
}

/** The trace id of the active span (for logs), or undefined. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : undefined;
}

export { SpanKind, context, propagation, trace };
