// Runs the benchmarks under bench/ (*.bench.ts), one process each, in name
// order; `npm run bench -- <substring>` runs the matching ones only. Each
// benchmark prints its result beside a baseline measured in the same run.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = readdirSync(`${root}/bench`).filter((f) => f.endsWith('.bench.ts') && (!filters.length || filters.some((s) => f.includes(s)))).sort();
console.log(`[bench] ${new Date().toISOString()} node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
let failed = false;
for (const file of files) {
  console.log(`\n[bench] ${file}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '-r', './tools/register.js', `bench/${file}`], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
if (!files.length) console.log('[bench] no benchmark matched');
process.exit(failed ? 1 : 0);
