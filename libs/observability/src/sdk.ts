import { trace } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface TracingOptions {
  readonly serviceName: string;
  /** Replaces the exporter the OTEL_* environment names (tests pass an in-memory exporter's processor). */
  readonly spanProcessors?: SpanProcessor[];
  /** Host and process resource detection (default on); off makes a test's spans reach its exporter at once. */
  readonly autoDetectResources?: boolean;
}

let running: NodeSDK | null = null;

/**
 * Starts OpenTelemetry (sdk-node 0.223, the last line that supports Node 20)
 * with HTTP and gRPC instrumentation: incoming and outgoing calls get spans
 * and carry `traceparent` in HTTP headers and gRPC metadata. Kafka messages
 * carry it in a header (libs/bus). Must run before @grpc/grpc-js and http
 * are first loaded, which is why services start it from the preload
 * (libs/observability/src/preload.ts). The exporter follows the standard
 * OTEL_* variables (OTLP by default).
 */
export function startTracing(options: TracingOptions): { shutdown(): Promise<void> } {
  if (running) return { shutdown: () => stopTracing() };
  // Loaded here, not at import: most processes never trace, and the SDK is large.
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { GrpcInstrumentation } = require('@opentelemetry/instrumentation-grpc') as typeof import('@opentelemetry/instrumentation-grpc');
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    autoDetectResources: options.autoDetectResources ?? true,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes every few seconds would drown the traces that matter.
        ignoreIncomingRequestHook: (req) => /^\/(health|healthz|readyz|metrics)\b/.test(req.url ?? ''),
      }),
      new GrpcInstrumentation(),
    ],
  });
  sdk.start();
  running = sdk;
  return { shutdown: () => stopTracing() };
}

/** Exports the spans still buffered (a process about to exit, a test about to assert). */
export async function flushTracing(): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
  await provider.getDelegate?.().forceFlush?.();
}

export async function stopTracing(): Promise<void> {
  const sdk = running;
  running = null;
  await sdk?.shutdown();
}

/** True when the environment asks for tracing (an exporter or an endpoint is configured). */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || (env.OTEL_TRACES_EXPORTER && env.OTEL_TRACES_EXPORTER !== 'none'));
}
