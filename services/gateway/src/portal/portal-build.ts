import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** services/gateway/portal: the front end's source (React, Vite). */
export const PORTAL_SOURCE = join(__dirname, '..', '..', 'portal');
const REPO_ROOT = join(__dirname, '..', '..', '..', '..');
const CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'herald-portal');

export type PortalBuild =
  | { state: 'ready'; dir: string }
  | { state: 'building' }
  | { state: 'failed'; error: string };

/**
 * Nothing generated is committed: the portal is built from its source the
 * first time it is needed (`npm start` builds it before the gateway starts;
 * a gateway started otherwise builds it on the first page request) and kept
 * in node_modules/.cache/herald-portal/<hash of the source and the lock
 * file>. A build goes to a temporary folder renamed into place, so two
 * processes racing to build both end with the same complete folder.
 * HERALD_PORTAL_DIR serves a folder built beforehand (a container image) and
 * never builds.
 */
export class PortalBuilder {
  private current: Promise<string> | null = null;
  private failure: string | null = null;
  private done: string | null = null;

  constructor(private readonly prebuilt = process.env.HERALD_PORTAL_DIR || null) {}

  /** The build's state now; starts a build when there is none. */
  state(): PortalBuild {
    if (this.prebuilt) return existsSync(join(this.prebuilt, 'index.html')) ? { state: 'ready', dir: this.prebuilt } : { state: 'failed', error: `HERALD_PORTAL_DIR=${this.prebuilt} has no index.html` };
    if (this.done) return { state: 'ready', dir: this.done };
    if (this.failure) return { state: 'failed', error: this.failure };
    const dir = outputDir();
    if (existsSync(join(dir, 'index.html'))) return { state: 'ready', dir: (this.done = dir) };
    void this.ensure().catch(() => undefined);
    return { state: 'building' };
  }

  /** Builds unless a build of this source exists; resolves to its folder. */
  ensure(): Promise<string> {
    if (this.prebuilt) return Promise.resolve(this.prebuilt);
    this.current ??= ensurePortalBuilt().then(
      (dir) => (this.done = dir),
      (error: Error) => {
        this.failure = error.message;
        this.current = null;
        throw error;
      },
    );
    return this.current;
  }

  /** Forget a failure so the next request tries again (after the source was fixed). */
  retry(): void {
    this.failure = null;
  }
}

/** The folder for the current source; builds it when missing. */
export async function ensurePortalBuilt(): Promise<string> {
  const dir = outputDir();
  if (existsSync(join(dir, 'index.html'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await runVite(tmp);
    try {
      renameSync(tmp, dir);
    } catch (error) {
      // Another process finished first: its folder is the same build.
      if (!existsSync(join(dir, 'index.html'))) throw error;
    }
    prune(dir);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function outputDir(): string {
  return join(CACHE, sourceHash());
}

/** Hash of every source file of the portal and of the lock file (library versions). */
export function sourceHash(): string {
  const hash = createHash('sha256');
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(PORTAL_SOURCE);
  for (const file of [...files, join(REPO_ROOT, 'package-lock.json'), join(REPO_ROOT, 'libs', 'campaign-model', 'src', 'channels.ts')]) {
    hash.update(relative(REPO_ROOT, file)).update('\0');
    if (existsSync(file)) hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Vite in a child process: its memory goes away with it, and the gateway stays responsive. */
function runVite(outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(PORTAL_SOURCE, 'vite-build.mjs'), outDir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => { output = (output + d.toString()).slice(-8000); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && existsSync(join(outDir, 'index.html'))) resolve();
      else reject(new Error(`the portal build failed (exit ${code}):\n${output}`));
    });
  });
}

/** Keeps the three newest builds: the cache must not grow with every source change. */
function prune(keep: string): void {
  const entries = readdirSync(CACHE)
    .filter((n) => !n.includes('.tmp-'))
    .map((n) => ({ path: join(CACHE, n), at: statSync(join(CACHE, n)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  for (const e of entries.slice(3)) if (e.path !== keep) rmSync(e.path, { recursive: true, force: true });
}
