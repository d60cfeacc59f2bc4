import { Logger } from '@nestjs/common';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { TOPICS } from '@herald/contracts';
import { waitForLeaders } from '@herald/bus';
import type { DispatchRuntime } from '../dispatch-runtime';
import { applyExternalStatus, parseStatus } from './external-dispatch';

/**
 * Consumes `dispatch.status`, where external channel adapters answer. The
 * values are DispatchStatus JSON (proto/herald/dispatch.proto), not Herald
 * events, so this reads the topic with its own consumer. A malformed
 * message is logged with the field at fault and skipped (it would never
 * parse on a retry); a failure to apply one is retried by not committing.
 */
export class ExternalStatusConsumer {
  private consumer: Consumer | null = null;
  private readonly logger = new Logger('ExternalStatus');

  constructor(private readonly rt: DispatchRuntime, private readonly options: { brokers: string[]; topicPrefix: string; clientId?: string }) {}

  async start(): Promise<void> {
    const kafka = new Kafka({ clientId: this.options.clientId ?? 'herald-dispatch-status', brokers: this.options.brokers, logLevel: logLevel.WARN });
    const topic = this.options.topicPrefix + TOPICS.dispatchStatus;
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) {
        // Metadata not yet propagated is retriable: waitForLeaders waits for it.
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] }).catch((error: { retriable?: boolean }) => {
          if (!error?.retriable) throw error;
        });
      }
      await waitForLeaders(admin, [topic]);
    } finally {
      await admin.disconnect();
    }
    this.consumer = kafka.consumer({ groupId: `${this.options.topicPrefix}dispatch.status`, maxWaitTimeInMs: 1000 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message, partition }) => {
        let status;
        try {
          status = parseStatus(JSON.parse(message.value?.toString('utf8') ?? 'null'));
        } catch (error) {
          this.logger.warn(`dispatch.status partition ${partition} offset ${message.offset}: skipped, ${(error as Error).message}`);
          return;
        }
        await applyExternalStatus(this.rt, status).catch((error) => {
          if (/^(streamId|communicationId):/.test((error as Error).message)) {
            this.logger.warn(`dispatch.status offset ${message.offset}: skipped, ${(error as Error).message}`);
            return;
          }
          throw error;
        });
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
    this.consumer = null;
  }
}
