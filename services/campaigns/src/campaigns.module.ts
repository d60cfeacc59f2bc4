import { Global, Module } from '@nestjs/common';
import { CAMPAIGNS_API } from '@herald/contracts';
import { CampaignsService } from './campaigns.service';
import { CampaignsGrpcController } from './campaigns.grpc.controller';
import { CampaignsWorkers } from './campaigns.workers';
import { WorkspaceReferences } from './references/workspace-references';

@Global()
@Module({
  controllers: [CampaignsGrpcController],
  providers: [CampaignsService, CampaignsWorkers, WorkspaceReferences, { provide: CAMPAIGNS_API, useExisting: CampaignsService }],
  exports: [CAMPAIGNS_API],
})
export class CampaignsModule {}
