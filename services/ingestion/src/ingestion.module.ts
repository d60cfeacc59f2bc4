import { Global, Module } from '@nestjs/common';
import { INGESTION_API } from '@herald/contracts';
import { IngestionService } from './ingestion.service';
import { IngestionGrpcController } from './ingestion.grpc.controller';
import { IngestionWorkers } from './ingestion.workers';

@Global()
@Module({
  controllers: [IngestionGrpcController],
  providers: [IngestionService, IngestionWorkers, { provide: INGESTION_API, useExisting: IngestionService }],
  exports: [INGESTION_API],
})
export class IngestionModule {}
