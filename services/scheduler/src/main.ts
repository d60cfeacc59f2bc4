import { runService } from '@herald/service-clients';
import { SchedulerModule } from './scheduler.module';

// Strategies: the dry run's Aggregation (simulateAggregation over gRPC).
void runService({ name: 'scheduler', module: SchedulerModule, grpc: 'scheduler', needs: ['strategies'] });
