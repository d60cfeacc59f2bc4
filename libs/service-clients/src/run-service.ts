import 'reflect-metadata';
import { Logger, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { grpcOptions, HeraldCoreModule, loadConfig, PG_POOL, type GrpcServiceName } from '@herald/service-defaults';
import { JsonLogger, jsonLogsRequested, startOpsServer, startTracing, tracingRequested } from '@herald/observability';
import { RemoteApisModule } from './remote-apis.module';

/**
 * main() of a service in the distributed mode: the shared core (database,
 * event store, Kafka bus, relay), gRPC clients of the services it calls, its
 * own module, and its gRPC server when it has one.
 */
export async function runService(args: { name: string; module: Type<unknown>; grpc?: GrpcServiceName; needs?: GrpcServiceName[] }): Promise<void> {
  const logger = new Logger(args.name);
  // Normally started by the preload (libs/observability/src/preload.ts) before gRPC loads; this is the fallback.
  if (tracingRequested()) startTracing({ serviceName: process.env.OTEL_SERVICE_NAME ?? `herald-${args.name}` });
  const jsonLogs = jsonLogsRequested() ? { logger: new JsonLogger(args.name) } : {};
  try {
    const config = loadConfig();
    if (config.mode !== 'distributed') throw new Error(`services/${args.name} runs alone only in the distributed mode: set DATABASE_URL and KAFKA_BROKERS (npm start runs everything embedded)`);
    @Module({ imports: [HeraldCoreModule.forRoot(config, { serviceName: args.name }), RemoteApisModule.forRoot(config, args.needs ?? []), args.module] })
    class ServiceModule {}
    const app = args.grpc
      ? await NestFactory.createMicroservice(ServiceModule, { ...grpcOptions(args.grpc, config.grpc[args.grpc]), bufferLogs: false, ...jsonLogs })
      : await NestFactory.createApplicationContext(ServiceModule, jsonLogs);
    app.enableShutdownHooks();
    if ('listen' in app) await (app as { listen(): Promise<unknown> }).listen();
    if (process.env.HERALD_OPS_PORT) {
      // Liveness, readiness and Prometheus metrics of this service (Kubernetes probes, scrapes).
      const pool = app.get<Pool>(PG_POOL);
      const ops = await startOpsServer({ port: Number(process.env.HERALD_OPS_PORT), readiness: { database: async () => void (await pool.query('select 1')) } });
      process.once('beforeExit', () => void ops.close());
      logger.log(`operations endpoints on :${ops.port} (/healthz, /readyz, /metrics)`);
    }
    logger.log(`ready${args.grpc ? ` (gRPC ${config.grpc[args.grpc]})` : ''}`);
  } catch (error) {
    logger.error(error instanceof Error ? error.stack : String(error));
    process.exit(1);
  }
}
