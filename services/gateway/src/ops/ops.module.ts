import { Module } from '@nestjs/common';
import { ReplayController } from './replay.controller';
import { ContactHistoryController } from './contact-history.controller';
import { MetricsController } from './metrics.controller';

/** Operations routes of the gateway: /metrics, the NDJSON replay of the log, and contact time travel. */
@Module({ controllers: [MetricsController, ReplayController, ContactHistoryController] })
export class OpsModule {}
