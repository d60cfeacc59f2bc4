import { runService } from '@herald/service-clients';
import { DispatchModule } from './dispatch.module';

void runService({ name: 'dispatch', module: DispatchModule, grpc: 'dispatch' });
