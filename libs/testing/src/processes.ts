import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..', '..');

const handedOut = new Set<number>();

/**
 * A port nothing listens on, for a process to bind later. It is drawn below the kernel's ephemeral range
 * (ip_local_port_range, 32768-60999 by default): a port from bind(0) comes from that range, and between
 * choosing it and the service's bind, any outgoing connection (Kafka, PostgreSQL) may take it as its source
 * port (EADDRINUSE). The test process never hands the same port out twice.
 */
export async function freePort(): Promise<number> {
  const from = 10_000, to = Math.max(from + 1_000, EPHEMERAL_LOW - 1);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found in ${from}-${to}`);
}

/** The lowest port of the kernel's ephemeral range (Linux's default where it cannot be read). */
const EPHEMERAL_LOW = (() => {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 0) return low;
  } catch { /* not Linux */ }
  return 32768;
})();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
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
