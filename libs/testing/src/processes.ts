import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * The admin API key test platforms start with (HERALD_BOOTSTRAP_ADMIN_KEY):
 * a fixed, well-formed key known only to tests; test helpers send it.
 */
export const TEST_ADMIN_KEY = 'hk_testadmin000_' + 'T'.repeat(43);

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `services/<name>/src/main.ts` as its own process; its output is kept for failure messages.
 * HERALD_CPU_PROFILE_DIR: each service writes a V8 CPU profile there when it exits (open it in Chrome's DevTools).
 */
export function startService(name: string, env: NodeJS.ProcessEnv): ServiceProcess {
  const profile = process.env.HERALD_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HERALD_CPU_PROFILE_DIR}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...profile, '-r', './tools/register.js', `services/${name}/src/main.ts`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HERALD_BOOTSTRAP_ADMIN_KEY: TEST_ADMIN_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (d: Buffer) => {
    log += d.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
    if (process.env.HERALD_TEST_VERBOSE) process.stderr.write(`[${name}] ${d}`);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    name,
    child,
    output: () => log,
    kill: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => { clearTimeout(timer); resolve(); });
        child.kill(signal);
      }),
  };
}
