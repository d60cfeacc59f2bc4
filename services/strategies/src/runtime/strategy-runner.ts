import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { heraldMetrics } from '@herald/observability';
import { EgressGate, type EgressOptions } from './egress-gate';
import { normaliseAllowlist } from './address-policy';
import { planSandbox, type SandboxOptions, type SandboxPlan } from './sandbox-launcher';
import { wireCall, type StrategyHook, type StrategyInput, type StrategyOutcome } from './wire';
import { RunChunk, ValidateJob, type Job, type Requeue, type ValidationResult, type WireMessage } from './jobs';

export * from './wire';
export type { ValidationResult } from './jobs';

/**
 * The Python strategy runtime: a pool of long-lived CPython workers
 * (python/runner.py) speaking newline-delimited JSON over stdin/stdout,
 * each started inside the sandbox of sandbox-launcher.ts.
 *
 * Throughput: a run is split into requests of up to `chunkSize` calls, spread
 * over the workers; a worker streams results back as it goes.
 *
 * Isolation between campaigns: a worker that ran one campaign's code never
 * runs another's (that code could have patched anything in its interpreter).
 * Workers are bound to a campaign on first use; a campaign without a worker
 * takes a fresh one, or recycles the idle worker of another campaign.
 *
 * Time limits, in two layers:
 * - `timeoutMs` is the budget of ONE call. The worker enforces it itself
 *   (a timer tick raises into the strategy), so a slow call fails alone and
 *   the rest of its batch carries on.
 * - The parent's watchdog catches what the worker cannot interrupt (a loop
 *   that swallows BaseException, a long C call): the worker reports at least
 *   every min(250 ms, timeoutMs / 4) while it works, and if it stays silent
 *   for timeoutMs + 1000 ms it is killed and replaced.
 *
 * A worker that dies or is killed takes only the call it was running: what
 * it had reported stays, the calls after it run again one by one, so the
 * culprit fails alone (after three deaths in a row the rest of that batch
 * fails rather than killing worker after worker).
 */

export interface StrategyCode {
  /** Cache key of the compiled module, e.g. `<strategyId>:<version>`. */
  readonly key: string;
  readonly code: string;
  readonly functionName: string;
}

export interface CampaignInfo {
  readonly id: string;
  readonly name: string;
  readonly stages: readonly string[];
  readonly resultCodes: readonly string[];
  readonly settings: Record<string, unknown>;
}

export interface StrategyContext {
  readonly campaign: CampaignInfo;
  readonly now: Date;
}

export interface RunOptions {
  /** Budget of one call in ms (default: the runner's). */
  timeoutMs?: number;
  /** Host names this campaign's strategies may reach (normalised here; IP literals are dropped). */
  egressAllowlist?: readonly string[];
}


export interface SandboxInfo {
  readonly mode: SandboxPlan['mode'];
  readonly python: string;
  readonly uid: number | undefined;
  readonly layers: readonly string[];
  readonly notes: readonly string[];
}

export interface StrategyRunnerOptions {
  /** Worker processes at most (default 2). */
  workers?: number;
  /** Budget of one strategy call in ms (default 5000); see the comment at the top. */
  timeoutMs?: number;
  /** Python executable (default `HERALD_PYTHON` or `python3`). */
  pythonPath?: string;
  /** Address-space limit of each worker in MB (default 512; 0 = none). */
  memoryMb?: number;
  /** Calls per request to a worker (default 500). */
  chunkSize?: number;
  /** Largest result one call may return, in characters of JSON (default 1 MiB). */
  maxOutputBytes?: number;
  /** Folder of runner.py, campaign_sdk.py and sandbox.py (default: ../../python from this file). */
  pythonDir?: string;
  /** Sandbox: 'auto' (bubblewrap where it works), 'bwrap' (required) or 'rlimits'. */
  sandbox?: SandboxOptions['mode'];
  bwrapPath?: string;
  sandboxUid?: number;
  sandboxGid?: number;
  /** Egress proxy settings (tests replace DNS and the connection). */
  egress?: EgressOptions;
  /** Called once with what the sandbox is made of (default: the Nest logger). */
  onSandbox?: (info: SandboxInfo) => void;
  /** Keep one started worker in reserve for a campaign that has none (default true). */
  spareWorker?: boolean;
}

const WATCHDOG_GRACE_MS = 1000;
const STDERR_LINES = 200;
const STDERR_CHARS = 32 * 1024;
const STDERR_MUTE_AFTER = 1024 * 1024;
const MAX_LINE_CHARS = 64 * 1024 * 1024;
const MAX_START_FAILURES = 3;

interface Worker {
  readonly n: number;
  /** The campaign (or '#validate') this worker serves; null for the warm spare, bound by its first job. */
  affinity: string | null;
  proc: ChildProcess | null;
  gate: EgressGate | null;
  dir: string;
  ready: boolean;
  dead: boolean;
  job: Job | null;
  jobId: string | null;
  /** A run request already written to the worker, waiting behind `job`: the worker never idles between requests. */
  next: { job: Job; id: string } | null;
  timer: NodeJS.Timeout | null;
  stdout: string[];
  stdoutChars: number;
  stderrChars: number;
  jobStderr: string[];
  lastUsed: number;
}

export class StrategyRunner implements Requeue {
  private readonly workerCount: number;
  private readonly timeoutMs: number;
  private readonly memoryMb: number;
  private readonly chunkSize: number;
  private readonly maxOutputBytes: number;
  private readonly pythonDir: string;
  private readonly workers = new Set<Worker>();
  private readonly queue: Job[] = [];
  private readonly stderrRing: string[] = [];
  private stderrChars = 0;
  private closed = false;
  private nextId = 0;
  private nextWorker = 0;
  private startFailures = 0;
  /** No new worker before this time (after workers failed to start). */
  private backoffUntil = 0;
  private readonly respawnTimers = new Set<NodeJS.Timeout>();
  private plan: Promise<SandboxPlan> | null = null;
  private baseDir: string | null = null;
  private info: SandboxInfo | null = null;
  private readonly infoWaiters: { resolve: (info: SandboxInfo) => void; reject: (error: Error) => void }[] = [];
  private readonly cleanup = () => this.removeBaseDir();

  constructor(private readonly opts: StrategyRunnerOptions = {}) {
    this.workerCount = Math.max(1, Math.floor(opts.workers ?? 2));
    this.timeoutMs = Math.max(1, Math.floor(opts.timeoutMs ?? 5000));
    this.memoryMb = Math.max(0, Math.floor(opts.memoryMb ?? 512));
    this.chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? 500));
    this.maxOutputBytes = Math.max(1024, Math.floor(opts.maxOutputBytes ?? 1024 * 1024));
    this.pythonDir = opts.pythonDir ?? resolve(__dirname, '../../python');
  }

  /** Runs the strategy once per input; outcomes come back in input order and never reject per call. */
  async run(code: StrategyCode, hook: StrategyHook, inputs: readonly StrategyInput[], context: StrategyContext, opts: RunOptions = {}): Promise<StrategyOutcome[]> {
    this.assertOpen();
    if (!inputs.length) return [];
    const timeoutMs = Math.max(1, Math.floor(opts.timeoutMs ?? this.timeoutMs));
    const egress = new Set(normaliseAllowlist(opts.egressAllowlist ?? []).hosts);
    const head = JSON.stringify({
      op: 'run',
      strategy: { key: code.key, code: code.code, function: code.functionName },
      hook,
      kwargs: {
        campaign: {
          id: context.campaign.id,
          name: context.campaign.name,
          stages: context.campaign.stages,
          result_codes: context.campaign.resultCodes,
          settings: context.campaign.settings,
        },
        now: context.now.toISOString(),
      },
      egress: [...egress],
      timeout_ms: timeoutMs,
      max_output_bytes: this.maxOutputBytes,
    }).slice(0, -1);
    // Spread a batch over the pool, but keep requests small enough to bound memory and lost work.
    const size = Math.min(this.chunkSize, Math.ceil(inputs.length / this.workerCount));
    const chunks: Promise<StrategyOutcome[]>[] = [];
    for (let start = 0; start < inputs.length; start += size) {
      const part = inputs.slice(start, start + size);
      chunks.push(new Promise((done) => this.enqueue(new RunChunk(context.campaign.id, timeoutMs, egress, head, part, part.map(wireCall), false, done))));
    }
    const started = process.hrtime.bigint();
    const outcomes = (await Promise.all(chunks)).flat();
    heraldMetrics.strategyDuration.observe({ type: hook }, Number(process.hrtime.bigint() - started) / 1e9);
    for (const o of outcomes) if (!o.ok) heraldMetrics.strategyFailures.inc({ type: hook, reason: failureReason(o.error) });
    return outcomes;
  }

  /** Syntax errors (with line), the entry point missing, imports outside the standard library. */
  async validate(code: string, functionName: string): Promise<ValidationResult> {
    this.assertOpen();
    return new Promise<ValidationResult>((done) => this.enqueue(new ValidateJob(code, functionName, this.timeoutMs, done)));
  }

  /** What isolates the workers here, once the first worker has started. */
  sandbox(): Promise<SandboxInfo> {
    this.assertOpen();
    if (this.info) return Promise.resolve(this.info);
    if (!this.workers.size && !this.queue.length) this.spawnWorker(null);
    return new Promise((resolve, reject) => this.infoWaiters.push({ resolve, reject }));
  }

  /** Recent stderr of the workers (Python fatal errors and the like), oldest first. */
  diagnostics(): string[] {
    return [...this.stderrRing];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.respawnTimers) clearTimeout(t);
    this.respawnTimers.clear();
    for (const job of this.queue.splice(0)) job.fail('StrategyRunnerClosed: the strategy runner was closed', '', null);
    const exits = [...this.workers].map(
      (w) =>
        new Promise<void>((done) => {
          const proc = w.proc;
          if (!proc || proc.exitCode !== null || proc.signalCode !== null) return done();
          proc.ref(); // idle workers are unref'd; keep Node alive until they are gone
          proc.once('exit', () => done());
          setTimeout(done, 2000).unref();
        }),
    );
    for (const w of [...this.workers]) this.retire(w, 'StrategyRunnerClosed: the strategy runner was closed');
    await Promise.all(exits);
    this.removeBaseDir();
  }

  // ---- pool ----

  private assertOpen(): void {
    if (this.closed) throw new Error('StrategyRunner is closed');
  }

  /** @internal Puts jobs at the front of the queue (a dead worker's remaining calls). */
  requeueFront(jobs: Job[]): void {
    if (this.closed) {
      for (const job of jobs) job.fail('StrategyRunnerClosed: the strategy runner was closed', '', null);
      return;
    }
    this.queue.unshift(...jobs);
    this.dispatch();
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    this.dispatch();
  }

  private dispatch(): void {
    if (this.closed) return;
    const idle = () => [...this.workers].filter((w) => w.ready && !w.dead && !w.job);
    for (let i = 0; i < this.queue.length; i++) {
      const job = this.queue[i];
      if (job.skip?.()) {
        this.queue.splice(i--, 1);
        continue;
      }
      const free = idle();
      // The campaign's most recently used worker (warm caches), else the spare.
      const mine = free.filter((w) => w.affinity === job.affinity).sort((a, b) => b.lastUsed - a.lastUsed)[0] ?? free.find((w) => w.affinity === null);
      if (mine) {
        mine.affinity = job.affinity;
        this.queue.splice(i--, 1);
        this.start(mine, job);
        continue;
      }
      // Grow for this campaign while there is room, unless a worker is already starting for it.
      const starting = [...this.workers].filter((w) => !w.ready && !w.dead && (w.affinity === job.affinity || w.affinity === null)).length;
      const waiting = this.queue.slice(0, i + 1).filter((j) => j.affinity === job.affinity).length;
      if (starting >= waiting) continue;
      if (Date.now() < this.backoffUntil) continue;
      if (this.bound() < this.workerCount) {
        this.spawnWorker(job.affinity);
        continue;
      }
      // Full: queue the request behind one a worker of this campaign is running.
      const busy = job instanceof RunChunk ? [...this.workers].find((w) => w.ready && !w.dead && w.job instanceof RunChunk && !w.next && w.affinity === job.affinity) : undefined;
      if (busy) {
        this.queue.splice(i--, 1);
        const id = `r${++this.nextId}`;
        busy.next = { job, id };
        busy.proc!.stdin!.write(job.line(id) + '\n');
        continue;
      }
      // Full: the oldest waiting job may recycle an idle worker of another campaign.
      const headOfItsKind = this.queue.findIndex((j) => j.affinity === job.affinity) === i;
      const victim = free.filter((w) => w.affinity !== job.affinity).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (victim && headOfItsKind && (i === 0 || !this.queue.some((j) => j.affinity === victim.affinity))) {
        this.retire(victim, null);
        this.spawnWorker(job.affinity);
      }
    }
    this.keepSpare();
    this.updateRefs();
  }

  private bound(): number {
    let n = 0;
    for (const w of this.workers) if (w.affinity !== null) n++;
    return n;
  }

  /**
   * One started, unbound worker beyond the pool size, so that a campaign
   * without a worker (an Aggregation while another campaign imports) starts
   * at once instead of waiting for a process to start.
   */
  private keepSpare(): void {
    if (this.closed || !this.plan || this.opts.spareWorker === false || Date.now() < this.backoffUntil) return;
    for (const w of this.workers) if (w.affinity === null) return;
    if (this.workers.size <= this.workerCount) this.spawnWorker(null);
  }

  private start(w: Worker, job: Job): void {
    const id = `r${++this.nextId}`;
    w.job = job;
    w.jobId = id;
    w.jobStderr = [];
    w.lastUsed = Date.now();
    this.armWatchdog(w);
    w.proc!.stdin!.write(job.line(id) + '\n');
  }

  private armWatchdog(w: Worker): void {
    if (w.timer) clearTimeout(w.timer);
    const job = w.job!;
    w.timer = setTimeout(() => {
      w.timer = null;
      this.retire(w, `TimeoutError: strategy exceeded ${job.timeoutMs} ms`);
    }, job.timeoutMs + WATCHDOG_GRACE_MS);
  }

  private sandboxPlan(): Promise<SandboxPlan> {
    if (!this.plan) {
      this.baseDir = mkdtempSync(join(tmpdir(), 'herald-strategies-'));
      chmodSync(this.baseDir, 0o755); // workers run as another user and read their code from here
      process.once('exit', this.cleanup);
      this.plan = planSandbox(
        { mode: this.opts.sandbox, pythonPath: this.opts.pythonPath, bwrapPath: this.opts.bwrapPath, uid: this.opts.sandboxUid, gid: this.opts.sandboxGid },
        this.pythonDir,
        this.baseDir,
      );
    }
    return this.plan;
  }

  private spawnWorker(affinity: string | null): void {
    const w: Worker = {
      n: ++this.nextWorker, affinity, proc: null, gate: null, dir: '', ready: false, dead: false, job: null, jobId: null, next: null, timer: null,
      stdout: [], stdoutChars: 0, stderrChars: 0, jobStderr: [], lastUsed: Date.now(),
    };
    this.workers.add(w);
    void this.launch(w).catch((error: Error) => this.onDeath(w, `could not start: ${error.message}`));
  }

  private async launch(w: Worker): Promise<void> {
    const plan = await this.sandboxPlan();
    if (w.dead || this.closed) return;
    // Per worker: a folder for its egress socket, and (without bubblewrap) its private temporary directory.
    w.dir = mkdtempSync(join(this.baseDir!, `w${w.n}-`));
    chmodSync(w.dir, 0o755);
    const egressDir = join(w.dir, 'egress');
    const tmpDir = join(w.dir, 'tmp');
    mkdirSync(egressDir, { mode: 0o755 });
    mkdirSync(tmpDir, { mode: 0o700 });
    if (plan.uid !== undefined) chownSync(tmpDir, plan.uid, plan.gid ?? plan.uid);
    w.gate = await EgressGate.listen(join(egressDir, 'egress.sock'), () => {
      const job = w.job;
      return job && job.egress.size ? { hosts: job.egress, campaignId: job.affinity } : null;
    }, this.opts.egress, plan.uid !== undefined ? { uid: plan.uid, gid: plan.gid ?? plan.uid } : undefined);
    if (w.dead || this.closed) {
      await w.gate.close();
      return;
    }
    const command = plan.command({ egressDir, tmpDir, memoryMb: this.memoryMb });
    const proc = spawn(command.file, command.args, {
      cwd: command.cwd,
      // Never the platform's environment: strategies must not see its secrets.
      env: command.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      uid: plan.uid,
      gid: plan.gid,
    });
    w.proc = proc;
    proc.stdin!.on('error', () => undefined); // a dead worker is handled on 'exit'
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (chunk: string) => this.onStdout(w, chunk));
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => this.onStderr(w, chunk));
    proc.stderr!.on('error', () => undefined);
    proc.on('error', (err) => this.onDeath(w, `failed to start ${command.file}: ${err.message}`));
    proc.on('exit', (code, signal) => this.onDeath(w, signal ? `was killed by ${signal}` : `exited with code ${code}`));
    this.updateRefs();
  }

  private onStdout(w: Worker, chunk: string): void {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl !== -1) {
      w.stdout.push(chunk.slice(start, nl));
      const line = w.stdout.length === 1 ? w.stdout[0] : w.stdout.join('');
      w.stdout = [];
      w.stdoutChars = 0;
      if (line.trim()) this.onMessage(w, line);
      if (w.dead) return;
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length) {
      w.stdout.push(start ? chunk.slice(start) : chunk);
      w.stdoutChars += chunk.length - start;
      if (w.stdoutChars > MAX_LINE_CHARS) this.retire(w, `OutputLimitError: the worker wrote more than ${MAX_LINE_CHARS} characters without a line break`);
    }
  }

  private onMessage(w: Worker, line: string): void {
    let msg: WireMessage;
    try {
      msg = JSON.parse(line);
    } catch {
      this.noteStderr(`[worker ${w.n}] unparsable line: ${line.slice(0, 200)}`);
      return;
    }
    if (msg.ready === true && !w.ready) {
      w.ready = true;
      this.startFailures = 0;
      void this.announce(Array.isArray(msg.sandbox) ? msg.sandbox.map(String) : []);
      this.dispatch();
      return;
    }
    if (!w.job || msg.id !== w.jobId) return; // a late answer to a request already failed
    this.armWatchdog(w);
    const job = w.job;
    if (!job.message(msg)) return;
    this.finishJob(w);
    const next = w.next;
    if (next) {
      w.next = null;
      w.job = next.job;
      w.jobId = next.id;
      w.jobStderr = [];
      this.armWatchdog(w);
    }
    this.dispatch();
  }

  private async announce(layers: string[]): Promise<void> {
    if (this.info) return;
    const plan = await this.sandboxPlan();
    if (this.info) return;
    this.info = { mode: plan.mode, python: plan.python, uid: plan.uid, layers, notes: plan.notes };
    const report = this.opts.onSandbox ?? ((info: SandboxInfo) => {
      const logger = new Logger('StrategyRunner');
      logger.log(`strategy sandbox: ${info.mode}, ${info.python}${info.uid !== undefined ? `, uid ${info.uid}` : ''}; ${info.layers.join('; ')}`);
      for (const note of info.notes) {
        if (info.mode === 'bwrap') logger.log(note);
        else logger.warn(note);
      }
    });
    report(this.info);
    for (const waiter of this.infoWaiters.splice(0)) waiter.resolve(this.info);
  }

  private onStderr(w: Worker, chunk: string): void {
    w.stderrChars += chunk.length;
    if (w.stderrChars > STDERR_MUTE_AFTER) {
      // A strategy flooding fd 2 directly: stop reading, its writes fail with EPIPE.
      this.noteStderr(`[worker ${w.n}] stderr muted after ${STDERR_MUTE_AFTER} characters`);
      w.proc?.stderr?.destroy();
      return;
    }
    for (const line of chunk.split('\n')) {
      if (!line) continue;
      this.noteStderr(`[worker ${w.n}] ${line.slice(0, 1000)}`);
      if (w.job && w.jobStderr.length < 50) w.jobStderr.push(line.slice(0, 500));
    }
  }

  private noteStderr(line: string): void {
    this.stderrRing.push(line);
    this.stderrChars += line.length;
    while (this.stderrRing.length > STDERR_LINES || this.stderrChars > STDERR_CHARS) {
      this.stderrChars -= this.stderrRing.shift()!.length;
    }
  }

  private finishJob(w: Worker): void {
    if (w.timer) clearTimeout(w.timer);
    w.timer = null;
    w.job = null;
    w.jobId = null;
  }

  /** Kills a worker; its in-flight request fails with `error` (null: it was idle). */
  private retire(w: Worker, error: string | null): void {
    if (w.dead) return;
    const job = w.job;
    const stderr = w.jobStderr.join('\n');
    this.finishJob(w);
    w.dead = true;
    this.workers.delete(w);
    this.dispose(w);
    if (job && error) job.fail(error, stderr, this.closed ? null : this);
    this.requeueWaiting(w);
    if (this.closed) return;
    this.dispatch();
  }

  /** The request queued behind a dead worker's never started: it goes back to the queue. */
  private requeueWaiting(w: Worker): void {
    const next = w.next;
    w.next = null;
    if (next) this.requeueFront([next.job]);
  }

  private dispose(w: Worker): void {
    const proc = w.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    const gate = w.gate;
    w.gate = null;
    void gate?.close().catch(() => undefined);
    if (w.dir) rmSync(w.dir, { recursive: true, force: true });
  }

  private onDeath(w: Worker, how: string): void {
    if (w.dead) return;
    w.dead = true;
    this.workers.delete(w);
    const job = w.job;
    const stderr = w.jobStderr.join('\n');
    this.finishJob(w);
    this.dispose(w);
    if (job) {
      job.fail(`StrategyWorkerError: the strategy worker ${how} while running this call (memory limit ${this.memoryMb || 'none'} MB)`, stderr, this.closed ? null : this);
    }
    this.requeueWaiting(w);
    if (this.closed) return;
    if (!w.ready) {
      this.startFailures++;
      this.noteStderr(`[pool] worker failed to start: ${how}`);
      if (this.startFailures >= MAX_START_FAILURES) {
        const tail = this.stderrRing.slice(-10).join('\n');
        for (const queued of this.queue.splice(0)) queued.fail(`StrategyWorkerError: python workers fail to start (${how})`, tail, null);
        for (const waiter of this.infoWaiters.splice(0)) waiter.reject(new Error(`python workers fail to start (${how})\n${tail}`));
      }
      const delay = Math.min(30_000, 200 * 2 ** (this.startFailures - 1));
      this.backoffUntil = Date.now() + delay;
      const timer = setTimeout(() => {
        this.respawnTimers.delete(timer);
        this.dispatch();
      }, delay);
      if (!this.queue.length) timer.unref(); // a broken python must not keep an idle Node process alive
      this.respawnTimers.add(timer);
      return;
    }
    this.dispatch();
  }

  /** Idle workers must not keep the Node process alive; busy ones (or waiting work) must. */
  private updateRefs(): void {
    // Once closing, workers being killed stay ref'd so close() can await their exit.
    const busy = this.closed || this.queue.length > 0 || [...this.workers].some((w) => w.job || w.next || !w.ready);
    for (const w of this.workers) {
      const proc = w.proc;
      if (!proc) continue;
      for (const handle of [proc, proc.stdin, proc.stdout, proc.stderr] as unknown as Refable[]) {
        if (busy) handle?.ref?.();
        else handle?.unref?.();
      }
    }
  }

  private removeBaseDir(): void {
    process.off('exit', this.cleanup);
    if (this.baseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}

type Refable = { ref?: () => void; unref?: () => void } | null;

/** The metric's reason label for a failed call (herald_strategy_failures_total). */
export function failureReason(error: string): 'timeout' | 'crash' | 'invalid_result' | 'exception' {
  if (error.startsWith('TimeoutError')) return 'timeout';
  if (error.startsWith('StrategyWorkerError')) return 'crash';
  if (/^(InvalidContact|OutputLimitError|TypeError: strategy returned)|not JSON serialisable/.test(error)) return 'invalid_result';
  return 'exception';
}
