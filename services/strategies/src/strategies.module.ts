import { Global, Module } from '@nestjs/common';
import { STRATEGIES_API } from '@herald/contracts';
import { StrategiesService } from './strategies.service';
import { StrategiesGrpcController } from './strategies.grpc.controller';
import { StrategiesWorkers } from './strategies.workers';

@Global()
@Module({
  controllers: [StrategiesGrpcController],
  providers: [StrategiesService, StrategiesWorkers, { provide: STRATEGIES_API, useExisting: StrategiesService }],
  exports: [STRATEGIES_API],
})
export class StrategiesModule {}
