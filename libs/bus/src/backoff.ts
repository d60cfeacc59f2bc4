/** Exponential backoff with a cap: 100 ms, 200 ms, 400 ms ... up to `capMs`. */
export function backoffDelay(attempt: number, capMs: number): number {
  return Math.min(capMs, 100 * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
}

/** Sleeps `ms`, waking early when `stop()` turns true; `tick` runs between slices (e.g. a Kafka heartbeat). */
export async function sleepUnless(ms: number, stop: () => boolean, tick?: () => Promise<void>, sliceMs = 250): Promise<void> {
  const until = Date.now() + ms;
  while (!stop() && Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(sliceMs, until - Date.now())));
    await tick?.();
  }
}
