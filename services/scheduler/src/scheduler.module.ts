import { Global, Module } from '@nestjs/common';
import { SCHEDULER_API } from '@herald/contracts';
import { SchedulerGrpcController } from './scheduler.grpc.controller';
import { SchedulerService } from './scheduler.service';
import { SchedulerWorkers } from './scheduler.workers';

@Global()
@Module({
  controllers: [SchedulerGrpcController],
  providers: [SchedulerService, SchedulerWorkers, { provide: SCHEDULER_API, useExisting: SchedulerService }],
  exports: [SCHEDULER_API],
})
export class SchedulerModule {}
