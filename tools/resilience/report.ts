import { appendFileSync } from 'node:fs';

/** One case's figures, as docs/resilience.md reports them (rendered by tools/resilience/run.mjs). */
export interface CaseFigures {
  /** The point (docs/resilience.md numbers cases as issue 9 does). */
  readonly point: number;
  readonly name: string;
  /** Faults injected: kills, broker restarts, doubled deliveries (batches), conflicting commands, hostile files. */
  readonly faults: number;
  /** Contacts (or, for cases without contacts, commands / files) the case checked. */
  readonly checked: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly ms: number;
  /** What else the case measured, shown in the report's last column. */
  readonly notes?: string;
}

/**
 * Appends the figures as one JSON line to HERALD_RESILIENCE_REPORT (when
 * set) and prints them. Called after the case's assertions passed, so a
 * line in the report is a case that held.
 */
export function reportCase(figures: CaseFigures): void {
  const line = JSON.stringify({ ...figures, at: new Date().toISOString() });
  if (process.env.HERALD_RESILIENCE_REPORT) appendFileSync(process.env.HERALD_RESILIENCE_REPORT, line + '\n');
  console.log(`[resilience] ${line}`);
}

/** Milliseconds since `started`, for the report. */
export const since = (started: number): number => Date.now() - started;
