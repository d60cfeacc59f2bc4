// Runs the test layers named on the command line (unit, int, e2e, scale,
// resilience), each with node's test runner over the files whose suffix names
// the layer: *.unit.spec.ts (no I/O), *.int.spec.ts (real PostgreSQL / Kafka),
// *.e2e.spec.ts (through the gateway's API), *.scale.spec.ts (scale-out proof),
// *.resilience.spec.ts (fault injection, tools/resilience; `npm run
// test:resilience` also prints its figures, docs/resilience.md).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const layers = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const only = process.env.TEST_ONLY; // substring filter on file paths
const skipDirs = new Set(['node_modules', '.git', 'dist', '.nx', '.herald', 'tmp']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (skipDirs.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(relative(root, path));
  }
  return out;
}

const all = [...walk(join(root, 'libs'), []), ...walk(join(root, 'services'), []), ...walk(join(root, 'tools'), [])];
let failed = false;
for (const layer of layers.length ? layers : ['unit', 'int', 'e2e']) {
  const files = all.filter((f) => f.endsWith(`.${layer}.spec.ts`) && (!only || f.includes(only))).sort();
  if (!files.length) {
    console.log(`[test] layer ${layer}: no files`);
    continue;
  }
  console.log(`[test] layer ${layer}: ${files.length} files`);
  const r = spawnSync(
    process.execPath,
    ['-r', './tools/register.js', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
    { cwd: root, stdio: 'inherit', env: { ...process.env, HERALD_TEST_LAYER: layer } },
  );
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
