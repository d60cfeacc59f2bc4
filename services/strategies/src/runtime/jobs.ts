import { failure, outcomeOf, type StrategyInput, type StrategyOutcome } from './wire';

/** What a worker is asked to do, and how its answers settle the caller's promise (strategy-runner.ts runs them). */

export const MAX_DEATHS_PER_BATCH = 3;
export const VALIDATE_AFFINITY = '#validate';

export interface ValidationResult {
  readonly ok: boolean;
  readonly errors: { readonly line: number | null; readonly message: string }[];
}

export interface WireMessage {
  id?: string | null;
  results?: unknown[];
  partial?: boolean;
  error?: string;
  ok?: boolean;
  errors?: { line: number | null; message: string }[];
  ready?: boolean;
  sandbox?: string[];
}

/** A request a worker serves. */
export interface Job {
  readonly affinity: string;
  readonly timeoutMs: number;
  readonly egress: ReadonlySet<string>;
  line(id: string): string;
  /** A message for this job; true when it is complete. */
  message(msg: WireMessage): boolean;
  /** The worker died or was killed while serving it (or the pool closed). */
  fail(error: string, stderr: string, runner: Requeue | null): void;
  /** Settled without running (e.g. a batch whose strategy keeps killing workers). */
  skip?(): boolean;
}

/** Where a dead worker's remaining calls go: back to the front of the pool's queue. */
export interface Requeue {
  requeueFront(jobs: Job[]): void;
}

/** Some calls of one run, served by one worker. */
export class RunChunk implements Job {
  private readonly results: StrategyOutcome[] = [];
  private deaths = 0;

  constructor(
    readonly affinity: string,
    readonly timeoutMs: number,
    readonly egress: ReadonlySet<string>,
    private readonly head: string,
    private readonly inputs: readonly StrategyInput[],
    private readonly calls: readonly string[],
    /** A single call re-run after a worker died: it fails for good if it dies again. */
    private readonly isolated: boolean,
    private readonly done: (outcomes: StrategyOutcome[]) => void,
    private readonly parent: RunChunk | null = null,
  ) {}

  line(id: string): string {
    return `${this.head},"id":${JSON.stringify(id)},"calls":[${this.calls.join(',')}]}`;
  }

  message(msg: WireMessage): boolean {
    if (typeof msg.error === 'string') {
      this.finishWith(failure(msg.error));
      return true;
    }
    const results = Array.isArray(msg.results) ? msg.results : [];
    for (const r of results) {
      if (this.results.length >= this.calls.length) break;
      this.results.push(outcomeOf(r, this.inputs[this.results.length]));
    }
    if (msg.partial) return false;
    this.finishWith(failure('StrategyWorkerError: the worker answered with fewer results than calls'));
    return true;
  }

  skip(): boolean {
    if (!this.parent || this.parent.deaths < MAX_DEATHS_PER_BATCH) return false;
    this.finishWith(failure('StrategyWorkerError: not run: this strategy killed its worker on three calls of this batch'));
    return true;
  }

  fail(error: string, stderr: string, runner: Requeue | null): void {
    if (this.parent) this.parent.deaths++;
    const outstanding = this.calls.length - this.results.length;
    if (!runner || this.isolated || outstanding <= 1) {
      this.finishWith(failure(error, stderr));
      return;
    }
    // The culprit is one of the calls not yet reported: run each again alone.
    const first = this.results.length;
    const settled: StrategyOutcome[] = new Array(outstanding);
    let remaining = outstanding;
    const singles = Array.from({ length: outstanding }, (_, k) => new RunChunk(
      this.affinity, this.timeoutMs, this.egress, this.head, [this.inputs[first + k]], [this.calls[first + k]], true,
      ([outcome]) => {
        settled[k] = outcome;
        if (--remaining === 0) {
          this.results.push(...settled);
          this.done(this.results);
        }
      },
      this,
    ));
    runner.requeueFront(singles);
  }

  private finishWith(rest: StrategyOutcome): void {
    while (this.results.length < this.calls.length) this.results.push(rest);
    this.done(this.results);
  }
}

export class ValidateJob implements Job {
  readonly affinity = VALIDATE_AFFINITY;
  readonly egress: ReadonlySet<string> = new Set();

  constructor(private readonly code: string, private readonly functionName: string, readonly timeoutMs: number, private readonly done: (r: ValidationResult) => void) {}

  line(id: string): string {
    return JSON.stringify({ op: 'validate', id, code: this.code, function: this.functionName });
  }

  message(r: WireMessage): boolean {
    this.done({
      ok: r.ok === true,
      errors: Array.isArray(r.errors)
        ? r.errors.map((e) => ({ line: typeof e?.line === 'number' ? e.line : null, message: String(e?.message) }))
        : [{ line: null, message: r.error ?? 'StrategyWorkerError: malformed validation response' }],
    });
    return true;
  }

  fail(error: string): void {
    this.done({ ok: false, errors: [{ line: null, message: error }] });
  }
}
