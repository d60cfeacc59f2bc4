import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { CAMPAIGNS_API, DISPATCH_API, INGESTION_API, SCHEDULER_API, STRATEGIES_API } from '@herald/contracts';
import type { GrpcServiceName, HeraldConfig } from '@herald/service-defaults';
import { CampaignsGrpcClient, DispatchGrpcClient, IngestionGrpcClient, SchedulerGrpcClient, StrategiesGrpcClient } from './clients';

const CLIENTS: Record<GrpcServiceName, { token: symbol; create: (url: string) => unknown }> = {
  campaigns: { token: CAMPAIGNS_API, create: (url) => new CampaignsGrpcClient(url) },
  ingestion: { token: INGESTION_API, create: (url) => new IngestionGrpcClient(url) },
  strategies: { token: STRATEGIES_API, create: (url) => new StrategiesGrpcClient(url) },
  dispatch: { token: DISPATCH_API, create: (url) => new DispatchGrpcClient(url) },
  scheduler: { token: SCHEDULER_API, create: (url) => new SchedulerGrpcClient(url) },
};

/** The other services' APIs over gRPC, under the same tokens the in-process implementations use. */
@Global()
@Module({})
export class RemoteApisModule {
  static forRoot(config: HeraldConfig, services: readonly GrpcServiceName[]): DynamicModule {
    const providers: Provider[] = services.map((name) => ({ provide: CLIENTS[name].token, useFactory: () => CLIENTS[name].create(config.grpc[name]) }));
    return { module: RemoteApisModule, providers, exports: providers.map((p) => (p as { provide: symbol }).provide) };
  }
}
