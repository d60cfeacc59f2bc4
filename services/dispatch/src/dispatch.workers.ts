import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EventBus } from '@herald/bus';
import { EVENT_BUS, HERALD_CONFIG, type HeraldConfig } from '@herald/service-defaults';
import { DispatchService } from './dispatch.service';
import { ExternalStatusConsumer } from './external/status-consumer';

/** Starts dispatch's consumers and timers; in the distributed mode also the external adapters' statuses (dispatch.status). */
@Injectable()
export class DispatchWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private workers: { stop(): Promise<void> } | null = null;
  private external: ExternalStatusConsumer | null = null;
  private readonly logger = new Logger('DispatchWorkers');

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly service: DispatchService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const rt = this.service.runtime;
    await rt.ensureSchema();
    await rt.start();
    this.workers = await rt.startWorkers(this.bus);
    if (this.config.mode === 'distributed') {
      this.external = new ExternalStatusConsumer(rt, { brokers: this.config.kafkaBrokers, topicPrefix: this.config.kafkaTopicPrefix });
      await this.external.start().catch((error) => this.logger.error(`dispatch.status consumer not started: ${(error as Error).message}`));
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.workers?.stop();
    await this.external?.stop();
    await this.service.runtime.close();
  }
}
