// npm run test:resilience: runs the resilience layer (tools/resilience/*.resilience.spec.ts) and prints the
// figures each case reported (HERALD_RESILIENCE_REPORT, one JSON line per case that held) as the table
// docs/resilience.md shows, with the suite's wall time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const report = process.env.HERALD_RESILIENCE_REPORT ?? join(mkdtempSync(join(tmpdir(), 'herald-resilience-')), 'report.jsonl');
// --seeds=1,2: the seeds of the ingestion kill (RESILIENCE_SEEDS wins; default 1,2,3). `npm test` runs one.
const seeds = process.env.RESILIENCE_SEEDS ?? process.argv.find((a) => a.startsWith('--seeds='))?.slice('--seeds='.length);
const started = Date.now();
const r = spawnSync(process.execPath, ['tools/test.mjs', 'resilience', ...process.argv.slice(2).filter((a) => !a.startsWith('--seeds='))], {
  cwd: root, stdio: 'inherit', env: { ...process.env, HERALD_RESILIENCE_REPORT: report, ...(seeds ? { RESILIENCE_SEEDS: seeds } : {}) },
});
const seconds = Math.round((Date.now() - started) / 1000);
const rows = existsSync(report) ? readFileSync(report, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const sum = (k) => rows.reduce((n, x) => n + x[k], 0);
const lines = [
  `Resilience suite, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, wall time ${Math.floor(seconds / 60)} min ${seconds % 60} s, exit ${r.status}`,
  '',
  '| point | case | faults injected | checked | lost | duplicates | time | notes |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((x) => `| ${x.point} | ${x.name} | ${x.faults} | ${x.checked.toLocaleString('en')} | ${x.lost} | ${x.duplicates} | ${(x.ms / 1000).toFixed(1)} s | ${x.notes ?? ''} |`),
  `| | **${rows.length} cases** | **${sum('faults')}** | | **${sum('lost')}** | **${sum('duplicates')}** | ${seconds} s (wall) | |`,
];
console.log(`\n${lines.join('\n')}\n\n(figures: ${report})`);
process.exit(r.status ?? 1);
