import type { RecordedEvent } from '@herald/contracts';

export type EventHandler = (event: RecordedEvent, topic: string) => Promise<void>;

/** Several deliveries at once, in delivery order; all or nothing (a failure redelivers the whole batch). */
export type BatchHandler = (items: readonly { event: RecordedEvent; topic: string }[]) => Promise<void>;

export interface BusSubscribeOptions {
  /** Consumer group: each group gets every event once per delivery; replicas of a service share a group. */
  readonly group: string;
  readonly topics: readonly string[];
  /** Called per event, in order per stream (Kafka key). The offset moves only after it resolves. */
  readonly handler: EventHandler;
  /**
   * When given, transports deliver runs of consecutive events of a partition
   * (Kafka) or of a polled page (event log) to it instead of `handler`, so a
   * read model can apply a whole batch in one transaction.
   */
  readonly batchHandler?: BatchHandler;
  /** Largest batch given to batchHandler (default 500). */
  readonly maxBatchSize?: number;
  readonly onError?: (error: unknown, event: RecordedEvent) => void;
  /**
   * When given, only events of these types reach the handlers; Kafka passes
   * over the others by their event-type header, without decoding them
   * (their offsets move on as if handled).
   */
  readonly types?: readonly string[];
}

export interface BusSubscription {
  close(): Promise<void>;
}

/** What consumers see: Kafka in the distributed mode, the event store's own log when embedded. */
export interface EventBus {
  subscribe(options: BusSubscribeOptions): Promise<BusSubscription>;
  close(): Promise<void>;
}

/** What the relay writes to. */
export interface EventPublisher {
  publish(messages: readonly { topic: string; event: RecordedEvent }[]): Promise<void>;
  close(): Promise<void>;
}
