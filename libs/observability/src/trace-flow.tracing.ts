/**
 * Test support for trace-flow.int.spec.ts, imported first: OpenTelemetry
 * must be started before http and @grpc/grpc-js load, as the service
 * preload does. Spans go to memory, no collector needed.
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing } from './sdk';

export const exporter = new InMemorySpanExporter();
startTracing({ serviceName: 'herald-trace-flow', spanProcessors: [new SimpleSpanProcessor(exporter)], autoDetectResources: false });
