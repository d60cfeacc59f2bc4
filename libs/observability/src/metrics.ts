import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Herald's Prometheus metrics, one registry per process. Names and labels
 * are a contract with dashboards and alerts (docs/operations.md): change
 * them only with the docs. Services record through `heraldMetrics`; the
 * lag gauges are filled at scrape time by probes (see addScrapeProbe).
 */
export const registry = new Registry();
// Standard names (process_*, nodejs_*) so stock Node.js dashboards work.
collectDefaultMetrics({ register: registry });

export const heraldMetrics = {
  eventsAppended: new Counter({
    name: 'herald_events_appended_total',
    help: 'Events written to the event store (duplicates of idempotent retries not counted), by stream category and event type.',
    labelNames: ['category', 'type'] as const,
    registers: [registry],
  }),
  relayPublished: new Counter({
    name: 'herald_relay_published_total',
    help: 'Messages the relay had acknowledged by Kafka, by topic.',
    labelNames: ['topic'] as const,
    registers: [registry],
  }),
  relayLag: new Gauge({
    name: 'herald_relay_lag_events',
    help: 'Global log positions appended but not yet published by the relay (head minus the relay checkpoint).',
    registers: [registry],
  }),
  consumerLag: new Gauge({
    name: 'herald_consumer_lag_events',
    help: 'Events a consumer group still has to handle: Kafka log-end minus committed offsets, or head minus checkpoint on the embedded bus.',
    labelNames: ['group'] as const,
    registers: [registry],
  }),
  consumerHandled: new Counter({
    name: 'herald_consumer_events_total',
    help: 'Deliveries handled by consumer groups, by group, topic and result (ok, error; an error is retried).',
    labelNames: ['group', 'topic', 'result'] as const,
    registers: [registry],
  }),
  strategyDuration: new Histogram({
    name: 'herald_strategy_duration_seconds',
    help: 'Wall time of one strategy call (a Data Load call covers up to 500 contacts), by strategy type.',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  strategyFailures: new Counter({
    name: 'herald_strategy_failures_total',
    help: 'Strategy calls that failed, by strategy type and reason (exception, timeout, invalid_result, crash).',
    labelNames: ['type', 'reason'] as const,
    registers: [registry],
  }),
  schedulerLateness: new Histogram({
    name: 'herald_scheduler_lateness_seconds',
    help: 'How long after its planned start a communication was fired (started or missed).',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [registry],
  }),
  sends: new Counter({
    name: 'herald_dispatch_sends_total',
    help: 'Communications dispatch finished, by channel and end status (COMPLETED, ERROR, ...).',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
  }),
  sendErrors: new Counter({
    name: 'herald_dispatch_errors_total',
    help: 'Dispatch attempts that ended in ERROR or failed before recording an end, by channel.',
    labelNames: ['channel'] as const,
    registers: [registry],
  }),
} as const;

type Probe = () => Promise<void>;
const probes = new Set<Probe>();

/**
 * A function run before each scrape that sets gauges from the outside world
 * (database positions, Kafka offsets). Returns a function that removes it.
 */
export function addScrapeProbe(probe: Probe): () => void {
  probes.add(probe);
  return () => probes.delete(probe);
}

/** The Prometheus text exposition: probes first (each bounded, a failing one leaves its gauges as they were). */
export async function renderMetrics(timeoutMs = 2000): Promise<{ contentType: string; body: string }> {
  await Promise.all(
    [...probes].map((probe) =>
      Promise.race([probe().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]),
    ),
  );
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/** The stream category of a stream id ('contact-…' → 'contact'). */
export function streamCategory(streamId: string): string {
  const dash = streamId.indexOf('-');
  return dash > 0 ? streamId.slice(0, dash) : streamId;
}
