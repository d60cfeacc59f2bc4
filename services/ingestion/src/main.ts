import { runService } from '@herald/service-clients';
import { IngestionModule } from './ingestion.module';

void runService({ name: 'ingestion', module: IngestionModule, grpc: 'ingestion', needs: ['strategies'] });
