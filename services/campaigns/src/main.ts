import { CampaignsModule } from './campaigns.module';
import { runService } from '@herald/service-clients';

void runService({ name: 'campaigns', module: CampaignsModule, grpc: 'campaigns', needs: ['strategies', 'dispatch'] });
