import { Global, Module } from '@nestjs/common';
import { DISPATCH_API } from '@herald/contracts';
import { DispatchGrpcController } from './dispatch.grpc.controller';
import { DispatchService } from './dispatch.service';
import { DispatchWorkers } from './dispatch.workers';

@Global()
@Module({
  controllers: [DispatchGrpcController],
  providers: [DispatchService, DispatchWorkers, { provide: DISPATCH_API, useExisting: DispatchService }],
  exports: [DISPATCH_API],
})
export class DispatchModule {}
