import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * How strategy workers are started, decided once per runner by trying it:
 *
 * - `bwrap`: bubblewrap (Debian package `bubblewrap`) with new user, pid,
 *   network, ipc, uts and cgroup namespaces, a filesystem of only /usr (or
 *   the interpreter's prefix), TLS certificates and the runner's code, all
 *   read-only, a private size-capped /tmp, no capabilities, a new session,
 *   and dying with the platform.
 * - `rlimits`: no bubblewrap (or it cannot create namespaces here): the
 *   worker applies its own floor (rlimits, seccomp, an unprivileged network
 *   namespace when the kernel allows one, the audit hook); see sandbox.py.
 *
 * Either way, when the platform runs as root the worker runs as an
 * unprivileged user (65534 by default), so RLIMIT_NPROC holds and the
 * platform's own files and processes are out of its reach.
 */

const run = promisify(execFile);

export type SandboxMode = 'bwrap' | 'rlimits';

export interface SandboxOptions {
  /** 'auto' (default): bubblewrap when it works here, else rlimits. */
  mode?: 'auto' | SandboxMode;
  pythonPath?: string;
  bwrapPath?: string;
  /** Unprivileged uid/gid for workers when the platform is root (default 65534). */
  uid?: number;
  gid?: number;
  /** Size of the private /tmp under bubblewrap, in MB (default 64). */
  tmpMb?: number;
}

export interface SandboxPlan {
  readonly mode: SandboxMode;
  readonly python: string;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  /** Folder holding runner.py, campaign_sdk.py and sandbox.py, readable by the worker's user. */
  readonly codeDir: string;
  /** Why the plan is what it is, for the log. */
  readonly notes: string[];
  /** The command line of one worker. */
  command(worker: { egressDir: string; tmpDir: string; memoryMb: number }): { file: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string };
}

const PYTHON_FILES = ['runner.py', 'campaign_sdk.py', 'contact_wire.py', 'sandbox.py', 'validation.py'];
const IN_SANDBOX = { code: '/opt/herald', egress: '/run/herald', tmp: '/tmp' };

function which(name: string): string | null {
  if (name.includes('/')) return existsSync(name) ? name : null;
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** The interpreter behind a name (pyenv shims are shell scripts): its real path and prefix. */
async function describePython(python: string): Promise<{ executable: string; prefixes: string[] } | null> {
  try {
    const { stdout } = await run(python, ['-I', '-c', 'import sys, json; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.version_info[:2]]))'], {
      timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    const [executable, prefix, basePrefix, execPrefix, version] = JSON.parse(stdout) as [string, string, string, string, [number, number]];
    if (version[0] !== 3 || version[1] < 10) return null;
    return { executable: realpathSync(executable), prefixes: [...new Set([prefix, basePrefix, execPrefix].map((p) => realpathSync(p)))] };
  } catch {
    return null;
  }
}

/** Top-level directories that are symlinks into /usr on merged-/usr systems, else bound as they are. */
function rootLinks(): string[] {
  const args: string[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const path = `/${name}`;
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (stat.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

function bwrapArgs(python: { executable: string; prefixes: string[] }, codeDir: string, tmpMb: number): string[] {
  const args = [
    '--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv',
    '--ro-bind', '/usr', '/usr', ...rootLinks(),
  ];
  for (const prefix of python.prefixes) if (prefix !== '/usr' && !prefix.startsWith('/usr/')) args.push('--ro-bind', prefix, prefix);
  for (const dir of ['/etc/ssl', '/etc/ca-certificates', '/etc/pki']) args.push('--ro-bind-try', dir, dir);
  args.push('--ro-bind', codeDir, IN_SANDBOX.code, '--dev', '/dev', '--proc', '/proc', '--size', String(tmpMb * 1024 * 1024), '--tmpfs', IN_SANDBOX.tmp);
  return args;
}

/** Copies the worker's Python files where an unprivileged user can read them (the repository may not be). */
function stageCode(sourceDir: string, baseDir: string): string {
  const codeDir = join(baseDir, 'code');
  mkdirSync(codeDir, { recursive: true, mode: 0o755 });
  for (const file of readdirSync(sourceDir)) if (PYTHON_FILES.includes(file)) copyFileSync(join(sourceDir, file), join(codeDir, file));
  return codeDir;
}

export async function planSandbox(options: SandboxOptions, sourceDir: string, baseDir: string): Promise<SandboxPlan> {
  const notes: string[] = [];
  const codeDir = stageCode(sourceDir, baseDir);
  const root = process.getuid?.() === 0;
  const uid = root ? options.uid ?? 65534 : undefined;
  const gid = root ? options.gid ?? 65534 : undefined;
  const tmpMb = options.tmpMb ?? 64;
  const requested = options.pythonPath ?? process.env.HERALD_PYTHON ?? 'python3';
  const candidates: { executable: string; prefixes: string[] }[] = [];
  for (const name of [requested, '/usr/bin/python3']) {
    const described = await describePython(name);
    if (!described && name === requested) notes.push(`${requested} is not a usable Python 3.10+; trying /usr/bin/python3`);
    if (described && !candidates.some((c) => c.executable === described.executable)) candidates.push(described);
  }
  if (!candidates.length) throw new Error(`no Python 3.10+ interpreter found (tried ${requested} and /usr/bin/python3)`);

  const probe = async (file: string, args: string[], asUser: boolean) => {
    try {
      const { stdout } = await run(file, args, { timeout: 10_000, env: {}, uid: asUser ? uid : undefined, gid: asUser ? gid : undefined, cwd: '/' });
      return stdout.trim() === 'ok';
    } catch {
      return false;
    }
  };

  const bwrap = options.mode === 'rlimits' ? null : which(options.bwrapPath ?? 'bwrap');
  if (!bwrap && options.mode === 'bwrap') throw new Error('bubblewrap is required (HERALD_STRATEGY_SANDBOX=bwrap) but not installed (Debian: apt-get install bubblewrap)');
  if (bwrap) {
    for (const python of candidates) {
      const args = [...bwrapArgs(python, codeDir, tmpMb), '--', python.executable, '-I', '-S', '-c', `import sys; sys.path.insert(0, '${IN_SANDBOX.code}'); import campaign_sdk; print('ok')`];
      if (await probe(bwrap, args, true)) {
        return plan('bwrap', python.executable, notes, uid, gid, codeDir, (w) => ({
          file: bwrap,
          args: [
            ...bwrapArgs(python, codeDir, tmpMb),
            '--ro-bind', w.egressDir, IN_SANDBOX.egress,
            '--setenv', 'HERALD_SANDBOX', 'bwrap',
            '--setenv', 'HERALD_STRATEGY_MEMORY_MB', String(w.memoryMb),
            '--setenv', 'HERALD_STRATEGY_TMP', IN_SANDBOX.tmp,
            '--setenv', 'HERALD_EGRESS_SOCKET', `${IN_SANDBOX.egress}/egress.sock`,
            '--chdir', IN_SANDBOX.tmp,
            '--', python.executable, '-I', '-u', '-B', `${IN_SANDBOX.code}/runner.py`,
          ],
          env: {},
          cwd: '/',
        }));
      }
      notes.push(`${python.executable} does not start inside bubblewrap here (is its folder readable by uid ${uid ?? process.getuid?.()}?); trying the next interpreter`);
    }
    if (options.mode === 'bwrap') throw new Error(`bubblewrap does not work on this machine: ${notes.join('; ')}`);
  } else if (options.mode !== 'rlimits') {
    notes.push('bubblewrap not found (Debian: apt-get install bubblewrap); workers rely on rlimits, Landlock, seccomp and their own network namespace where the kernel allows them');
  }

  // Without bubblewrap: the first interpreter the unprivileged user can run; as a last resort the platform's own user.
  let chosen = candidates[0];
  let asUser = uid !== undefined;
  if (asUser) {
    const usable = [];
    for (const c of candidates) if (await probe(c.executable, ['-I', '-c', "print('ok')"], true)) usable.push(c);
    if (usable.length) chosen = usable[0];
    else {
      asUser = false;
      notes.push(`no Python interpreter is usable by uid ${uid}: workers run as root, where RLIMIT_NPROC does not hold (seccomp still blocks processes)`);
    }
  }
  return plan('rlimits', chosen.executable, notes, asUser ? uid : undefined, asUser ? gid : undefined, codeDir, (w) => ({
    file: chosen.executable,
    args: ['-I', '-u', '-B', join(codeDir, 'runner.py')],
    env: {
      HERALD_SANDBOX: 'rlimits',
      HERALD_STRATEGY_MEMORY_MB: String(w.memoryMb),
      HERALD_STRATEGY_TMP: w.tmpDir,
      HERALD_EGRESS_SOCKET: join(w.egressDir, 'egress.sock'),
    },
    cwd: w.tmpDir,
  }));
}

function plan(
  mode: SandboxMode, python: string, notes: string[], uid: number | undefined, gid: number | undefined, codeDir: string,
  command: SandboxPlan['command'],
): SandboxPlan {
  return { mode, python, notes, uid, gid, codeDir, command };
}
