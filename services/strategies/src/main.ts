import { runService } from '@herald/service-clients';
import { StrategiesModule } from './strategies.module';

void runService({ name: 'strategies', module: StrategiesModule, grpc: 'strategies' });
