// Strategy runtime throughput (issue 3): a Data Load strategy through the
// real runtime (sandboxed worker pool, full Contact marshalling both ways)
// beside the same function called in a bare Python loop, in one run.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { StrategyRunner, type ContactSnapshot, type SandboxInfo, type StrategyInput } from '../services/strategies/src/runtime/strategy-runner';

// The seeds' Data Load "basic structure", unchanged: plans the first communication and sets the stage.
const SEED_DATA_LOAD = `
async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    # Check if contact already exists
    if existing_contact is not None:
        # Handle existing contact logic
        pass
    # Plan first communication
    first_comm = Communication(
        name="Initial Message",
        stage_name="First Contact",
        start_date=datetime.now() + timedelta(hours=1),
        # ... other settings
    )
    contact.communications.append(first_comm)
    # Set initial stage
    contact.current_stage = "First Contact"
    return contact
`;
// The least a strategy can do.
const ONE_LINER = `
def run(contact, existing_contact, logger, **kwargs):
    contact.current_stage = "First Contact"
    return contact
`;

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const BATCH = 5_000;
const contact = (i: number): ContactSnapshot => ({
  objectId: `C-${i}`, externalId: `U-${i}`, name: 'John Doe', email: `john${i}@example.com`, phone: '+12025550123',
  parameters: { amount_due: String(100 + (i % 900)), due_date: '2026-07-01' }, currentStage: null, outcome: 'UNCERTAIN',
  results: { ResultFlag: null, ResultDatetime: null }, internalData: {}, communications: [], createdAt: '2026-01-01T08:00:00.000Z',
});

/** The same function on the same contacts as plain dicts (attribute access through SimpleNamespace), in one Python process: no IPC, no SDK objects, no checks. */
function bareLoop(python: string, code: string, rows: number): number {
  const script = `
import asyncio, inspect, json, sys, time, types, logging
sys.path.insert(0, ${JSON.stringify(resolve(__dirname, '../services/strategies/python'))})
from campaign_sdk import *
ns = {"Contact": Contact, "Communication": Communication, "CommunicationStatus": CommunicationStatus, "OutcomeStatus": OutcomeStatus,
      "Message": Message, "datetime": datetime, "timedelta": timedelta, "timezone": timezone}
exec(compile(sys.stdin.read(), "strategy.py", "exec"), ns)
fn = ns["run"]
row_text = ${JSON.stringify(JSON.stringify(contact(0)))}
rows = [json.loads(row_text) for _ in range(${rows})]
logger = logging.getLogger("bare")
is_async = inspect.iscoroutinefunction(fn)
t = time.perf_counter()
for row in rows:
    c = types.SimpleNamespace(**row)
    r = fn(c, None, logger)
    if is_async:
        try:
            r.send(None)
        except StopIteration:
            pass
print(${rows} / (time.perf_counter() - t))
`;
  const out = spawnSync(python, ['-I', '-c', script], { input: code, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  return Number(out.stdout.trim());
}

async function throughput(runner: StrategyRunner, code: string, key: string): Promise<number> {
  const ctx = { campaign: { id: 'bench', name: 'Bench', stages: ['First Contact'], resultCodes: [], settings: {} }, now: new Date() };
  const strategy = { key, code, functionName: 'run' };
  const batch = (from: number): StrategyInput[] => Array.from({ length: BATCH }, (_, i) => ({ contact: contact(from + i), existing: null }));
  await runner.run(strategy, 'data-load', batch(0), ctx); // warm: workers started, strategy compiled
  const t0 = performance.now();
  let done = 0;
  // Two batches in flight, as an upload worker keeps its pipeline full.
  let next = 0;
  const lane = async () => {
    while (next < ROWS) {
      const from = next;
      next += BATCH;
      const out = await runner.run(strategy, 'data-load', batch(from), ctx);
      for (const o of out) if (!o.ok || !o.contact || o.contact.currentStage !== 'First Contact') throw new Error(`bad result: ${JSON.stringify(o)}`);
      done += out.length;
    }
  };
  await Promise.all([lane(), lane()]);
  return done / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  let sandbox: SandboxInfo | null = null;
  const runner = new StrategyRunner({ workers: 2, onSandbox: (info) => { sandbox = info; } });
  try {
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    for (const [label, code] of [['seed Data Load (async def, plans a communication)', SEED_DATA_LOAD], ['one-line Data Load (def, sets the stage)', ONE_LINER]] as const) {
      const runtime = await throughput(runner, code, label);
      // The same interpreter the workers run.
      const bare = bareLoop((await runner.sandbox()).python, code, Math.min(ROWS, 200_000));
      console.log(`${label}: runtime ${fmt(runtime)} calls/s, bare Python loop ${fmt(bare)} calls/s, ratio ${(runtime / bare).toFixed(2)}`);
    }
    const info = sandbox as SandboxInfo | null;
    console.log(`(${ROWS.toLocaleString('en-US')} contacts, batches of ${BATCH}, 2 workers, sandbox: ${info?.mode ?? '?'})`);
  } finally {
    await runner.close();
  }
}

void main();
