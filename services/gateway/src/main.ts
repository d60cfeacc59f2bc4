import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { HeraldCoreModule, loadConfig } from '@herald/service-defaults';
import { RemoteApisModule } from '@herald/service-clients';
import { CampaignsModule } from '@herald/campaigns';
import { IngestionModule } from '@herald/ingestion';
import { StrategiesModule } from '@herald/strategies';
import { SchedulerModule } from '@herald/scheduler';
import { DispatchModule } from '@herald/dispatch';
import { GatewayModule } from './gateway.module';
import { createHttpApp, listen } from './http-app';

/**
 * `npm start`. Without DATABASE_URL and KAFKA_BROKERS: every service in this
 * one process, on an embedded database in HERALD_DATA_DIR, with the event
 * log as bus. With them: the gateway alone, calling the services over gRPC.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  let root;
  if (config.mode === 'embedded') {
    @Module({
      imports: [
        HeraldCoreModule.forRoot(config, { serviceName: 'herald' }),
        StrategiesModule, CampaignsModule, IngestionModule, SchedulerModule, DispatchModule, GatewayModule,
      ],
    })
    class EmbeddedModule {}
    root = EmbeddedModule;
  } else {
    @Module({ imports: [RemoteApisModule.forRoot(config, ['campaigns', 'ingestion', 'dispatch', 'scheduler']), GatewayModule] })
    class DistributedGatewayModule {}
    root = DistributedGatewayModule;
  }
  const app = await createHttpApp(root);
  await listen(app, config.port);
  new Logger('Herald').log(`mode: ${config.mode}${config.mode === 'embedded' ? `, data folder ${config.dataDir}` : ''}`);
}

main().catch((error) => {
  new Logger('Herald').error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
