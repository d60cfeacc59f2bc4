/**
 * Loaded with `node -r ./tools/register.js -r ./libs/observability/src/preload.ts <main>`
 * (Dockerfile, docker-compose.yml, deploy/k8s): starts OpenTelemetry before
 * the service loads http and @grpc/grpc-js, so both are instrumented, and
 * switches Nest's logger to JSON lines when asked (HERALD_LOG_FORMAT=json,
 * default in production).
 */
import { Logger } from '@nestjs/common';
import { startTracing, tracingRequested } from './sdk';
import { JsonLogger, jsonLogsRequested } from './json-logger';

/** 'services/dispatch/src/main.ts' → 'herald-dispatch'. */
function serviceNameFromArgv(): string {
  const main = process.argv[1] ?? '';
  const m = /services\/([^/]+)\//.exec(main);
  return `herald-${m ? m[1] : 'process'}`;
}

const serviceName = process.env.OTEL_SERVICE_NAME ?? serviceNameFromArgv();
if (tracingRequested()) startTracing({ serviceName });
if (jsonLogsRequested()) Logger.overrideLogger(new JsonLogger(serviceName.replace(/^herald-/, '')));
