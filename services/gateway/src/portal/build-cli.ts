import { ensurePortalBuilt } from './portal-build';

/**
 * `npm run portal:build` (and `npm start` before the gateway): builds the
 * portal unless a build of the current source exists. `--out DIR` also copies
 * it to DIR (a container image serves it with HERALD_PORTAL_DIR=DIR).
 */
async function main(): Promise<void> {
  const started = Date.now();
  const dir = await ensurePortalBuilt();
  const out = process.argv.indexOf('--out');
  if (out > 0 && process.argv[out + 1]) {
    const { cpSync } = await import('node:fs');
    cpSync(dir, process.argv[out + 1], { recursive: true });
  }
  console.log(`portal: ${dir} (${Date.now() - started} ms)`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
