/**
 * Contact ingestion, end to end, in the distributed mode: a CSV of ROWS rows
 * and 20 columns is uploaded through the gateway's REST API; every row runs
 * through a trivial Data Load strategy (real Python runtime) that plans one
 * communication; we wait until every contact is in the event store (readable
 * by GET) and in the contacts list read model. Processes: gateway, campaigns,
 * ingestion, strategies over gRPC and Kafka, on the machine's PostgreSQL.
 *
 * Baseline in the same run: csv-parse of the same file plus COPY of its rows
 * into a PostgreSQL table (the least any import must do).
 *
 *   npm run bench -- ingestion          (ROWS=100000 for a quicker run)
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { from as copyFrom } from 'pg-copy-streams';
import { createTestDatabase, eventually, freePort, startService, TEST_ADMIN_KEY, type ServiceProcess } from '@herald/testing';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const STRATEGY = `
def run(contact, existing_contact, logger, **kwargs):
    contact.communications.append(Communication(
        name="Reminder", stage_name="1 Reminder",
        start_date=datetime.now(timezone.utc) + timedelta(days=1),
        end_date=datetime.now(timezone.utc) + timedelta(days=2)))
    contact.current_stage = "1 Reminder"
    return contact
`;

async function writeCsv(path: string): Promise<void> {
  const out = createWriteStream(path);
  const params = Array.from({ length: 16 }, (_, i) => `param_${i + 1}`);
  out.write(`object_id,name,email,phone,${params.join(',')}\n`);
  for (let i = 1; i <= ROWS; i++) {
    const line = `C-${i},Person ${i},p${i}@example.com,+1202555${String(i % 10_000).padStart(4, '0')},${params.map((_, j) => `v${j}-${i % 97}`).join(',')}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Peak resident memory (VmHWM) of a process, in MB. */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, ...(body === undefined || body instanceof FormData ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const json = await res.json().catch(() => null);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const csvPath = join(dir, 'contacts.csv');
  await writeCsv(csvPath);
  const size = statSync(csvPath).size;
  console.log(`rows ${ROWS.toLocaleString()}, 20 columns, ${(size / 1024 / 1024).toFixed(0)} MB`);

  // Baseline: parse + COPY into PostgreSQL.
  const base = await createTestDatabase('herald_bench');
  await base.pool.query(`create table raw_contacts (${['object_id', 'name', 'email', 'phone', ...Array.from({ length: 16 }, (_, i) => `param_${i + 1}`)].map((c) => `${c} text`).join(', ')})`);
  const t0 = performance.now();
  const client = await base.pool.connect();
  try {
    const copy = client.query(copyFrom('copy raw_contacts from stdin'));
    const toTsv = new Transform({
      objectMode: true,
      transform(record: string[], _e, done) {
        done(null, `${record.map((v) => v.replace(/[\\\t\n]/g, ' ')).join('\t')}\n`);
      },
    });
    await pipeline(createReadStream(csvPath), parse({ from_line: 2 }), toTsv, copy);
  } finally {
    client.release();
  }
  const baselineSeconds = (performance.now() - t0) / 1000;
  await base.drop();

  // Herald, distributed: four processes.
  const db = await createTestDatabase('herald_bench');
  const ports = { gateway: await freePort(), campaigns: await freePort(), ingestion: await freePort(), strategies: await freePort() };
  const env = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    KAFKA_TOPIC_PREFIX: `bench-${randomBytes(4).toString('hex')}.`,
    CAMPAIGNS_GRPC_URL: `127.0.0.1:${ports.campaigns}`,
    INGESTION_GRPC_URL: `127.0.0.1:${ports.ingestion}`,
    STRATEGIES_GRPC_URL: `127.0.0.1:${ports.strategies}`,
  };
  const services: ServiceProcess[] = ['strategies', 'campaigns', 'ingestion'].map((name) => startService(name, env));
  services.push(startService('gateway', { ...env, PORT: String(ports.gateway) }));
  const url = `http://127.0.0.1:${ports.gateway}`;
  try {
    await eventually(async () => services.every((s) => /ready|listening/.test(s.output())) && (await fetch(`${url}/health`)).ok, { what: 'services', timeoutMs: 90_000 });
    const campaign = await api(url, 'POST', '/api/campaigns', { name: 'Bench', description: 'ingestion benchmark' });
    await api(url, 'POST', `/api/campaigns/${campaign.id}/stages`, { name: '1 Reminder', description: 'd', channel: 'no_communication' });
    const strategy = new FormData();
    for (const [k, v] of Object.entries({ name: 'Load', description: 'd', type: 'DATA_LOAD', functionName: 'run' })) strategy.set(k, v);
    strategy.set('file', new Blob([STRATEGY]), 'load.py');
    await api(url, 'POST', `/api/campaigns/${campaign.id}/strategies`, strategy);

    const started = performance.now();
    const form = new FormData();
    form.set('file', new Blob([readFileSync(csvPath)]), 'contacts.csv');
    const upload = await api(url, 'POST', `/api/campaigns/${campaign.id}/contacts/uploads`, form);
    const accepted = performance.now();
    const report = await eventually(async () => {
      const u = await api(url, 'GET', `/api/campaigns/${campaign.id}/contacts/uploads/${upload.id}`);
      return u.state === 'completed' || u.state === 'failed' ? u : undefined;
    }, { what: 'the upload', timeoutMs: 3_600_000, intervalMs: 500 });
    const imported = performance.now();
    await eventually(async () => {
      const { rows } = await db.pool.query('select count(*)::int as n from contact_list where campaign_id = $1', [campaign.id]);
      return rows[0].n >= report.imported ? true : undefined;
    }, { what: 'the contact list read model', timeoutMs: 3_600_000, intervalMs: 500 });
    const listed = performance.now();
    const sample = await api(url, 'GET', `/api/campaigns/${campaign.id}/contacts/${encodeURIComponent(`o:C-${ROWS}`)}`);
    if (sample.communications.length !== 1) throw new Error('the Data Load strategy did not plan a communication');

    const importSeconds = (imported - started) / 1000;
    const endToEnd = (listed - started) / 1000;
    console.log(`upload accepted (file received and stored): ${((accepted - started) / 1000).toFixed(1)} s`);
    console.log(`imported ${report.imported.toLocaleString()} contacts (rejected ${report.rejected}) in ${importSeconds.toFixed(1)} s: ${Math.round(report.imported / importSeconds).toLocaleString()} contacts/s`);
    console.log(`until the contacts list read model has them all: ${endToEnd.toFixed(1)} s: ${Math.round(report.imported / endToEnd).toLocaleString()} contacts/s`);
    console.log(`baseline csv-parse + COPY: ${baselineSeconds.toFixed(1)} s: ${Math.round(ROWS / baselineSeconds).toLocaleString()} rows/s`);
    console.log(`ratio (Herald end to end / baseline): ${(baselineSeconds / endToEnd).toFixed(3)}`);
    for (const s of services) console.log(`peak RSS ${s.name}: ${peakRss(s.child.pid!).toFixed(0)} MB`);
    const { rows } = await db.pool.query(`select pg_size_pretty(pg_database_size(current_database())) as size`);
    console.log(`database size: ${rows[0].size}`);
  } finally {
    await Promise.all(services.map((s) => s.kill()));
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
