import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { eventually } from '@herald/testing';
import { CONTACT_LIST_GROUP } from '../../services/ingestion/src/contact-list/contact-list';
import { file, form, startDistributed, type DistributedPlatform, type ServiceName } from '../../services/gateway/e2e/harness';
import { api } from '../../services/gateway/e2e/walking-skeleton';

/*
 * Scale-out proof (issue 8, point 3): the same campaign of CONTACTS contacts
 * run once with one process per service and once with two replicas of each
 * consumer service (campaigns, ingestion, strategies, scheduler, dispatch)
 * over real Kafka and PostgreSQL, the second replicas joining in the middle
 * (their consumer groups rebalance while events flow) and one replica of each
 * killed -9 later (a second rebalance). Both runs must end in the same state:
 * no contact lost, none handled twice.
 *
 *   SCALE_CONTACTS=100000 npm run test:scale      (default 100,000)
 *
 * TIMELINE=1 prints, per run, each event type's count and the seconds from
 * the start to its first and last event: where a slow run spends its time.
 */
const CONTACTS = Number(process.env.SCALE_CONTACTS ?? 100_000);
const CONSUMERS: ServiceName[] = ['campaigns', 'ingestion', 'strategies', 'scheduler', 'dispatch'];
// A correctness proof, not a timed test: on the 2-core machine each run took about 5 ms per contact at 100,000 (BENCHMARKS.md); the budget is six times that.
const TIMEOUT = Math.max(600_000, CONTACTS * 30);

const DATA_LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    contact.communications.append(Communication(name="Notice", stage_name="1 Notice", start_date=kwargs["now"] - timedelta(seconds=1), end_date=kwargs["now"] + timedelta(hours=6)))
    contact.current_stage = "1 Notice"
    contact.internal_data["loaded"] = contact.parameters.get("n")
    return contact
`;

const AGGREGATION = `
def run(contact, session_results, logger, **kwargs):
    ended = next(c for c in contact.communications if c.flagged)
    n = int(contact.parameters.get("n", "0"))
    contact.outcome = OutcomeStatus.SUCCESS if n % 3 == 0 else OutcomeStatus.NEGATIVE if n % 3 == 1 else OutcomeStatus.POSITIVE
    contact.current_stage = "2 Closed"
    contact.results["ResultFlag"] = n % 3 == 0
    contact.internal_data["ended"] = str(ended.status.status)
    return contact
`;

function csv(): Buffer {
  const lines = ['object_id,name,phone,n'];
  for (let i = 1; i <= CONTACTS; i++) lines.push(`C-${i},Contact ${i},+1202555${String(i % 10_000).padStart(4, '0')},${i}`);
  return Buffer.from(lines.join('\n') + '\n');
}

interface Outcome {
  contacts: number;
  byStageOutcome: Record<string, number>;
  communications: Record<string, number>;
  eventsByType: Record<string, number>;
  duplicateCreates: number;
  ledger: number;
  campaignStatus: string;
  seconds: number;
  digest: string;
}

async function runCampaign(scaled: boolean): Promise<Outcome> {
  const platform: DistributedPlatform = await startDistributed({ prefix: scaled ? 'herald_scale2' : 'herald_scale1' });
  const started = Date.now();
  try {
    const base = platform.base;
    const c = await api(base, 'POST', '/api/campaigns', { name: 'Scale', description: 'scale-out proof' });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    const id = c.body.id as string;
    for (const name of ['1 Notice', '2 Closed']) {
      const s = await api(base, 'POST', `/api/campaigns/${id}/stages`, { name, description: name, channel: 'no_communication', settings: {} });
      assert.equal(s.status, 201, JSON.stringify(s.body));
    }
    for (const [type, code] of [['DATA_LOAD', DATA_LOAD], ['AGGREGATION', AGGREGATION]] as const) {
      const r = await api(base, 'POST', `/api/campaigns/${id}/strategies`, form({ name: type, description: type, type, functionName: 'run', file: file(`${type}.py`, code, 'text/x-python') }));
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const upload = await api(base, 'POST', `/api/campaigns/${id}/contacts/uploads`, form({ file: file('contacts.csv', csv(), 'text/csv') }));
    assert.equal(upload.status, 202, JSON.stringify(upload.body));
    // Start as soon as the campaign has contacts: the upload, the scheduler and dispatch then run at the same time.
    // The campaign counts a running upload's contacts from its first batch on (ContactsUploadProgressed), so Start does not wait for the whole file.
    await eventually(async () => (await api(base, 'POST', `/api/campaigns/${id}/start`)).status === 200, { what: 'the campaign to start', timeoutMs: 120_000, intervalMs: 250 });
    if (scaled) {
      // Rebalance 1: a second replica of every consumer joins while the upload and the campaign run.
      await eventually(async () => (await api(base, 'GET', `/api/campaigns/${id}/contacts/uploads/${upload.body.id}`)).body.imported >= CONTACTS / 4, { what: 'a quarter of the upload', timeoutMs: TIMEOUT, intervalMs: 500 });
      for (const name of CONSUMERS) platform.start(name);
      // Rebalance 2: the first process of each consumer service is killed -9 and started again.
      await eventually(async () => (await api(base, 'GET', `/api/campaigns/${id}/contacts/uploads/${upload.body.id}`)).body.imported >= CONTACTS / 2, { what: 'half of the upload', timeoutMs: TIMEOUT, intervalMs: 500 });
      for (const name of ['scheduler', 'dispatch', 'campaigns'] as const) {
        const [first] = platform.processes(name);
        await first.kill('SIGKILL');
        platform.start(name);
      }
    }
    const finished = await eventually(async () => {
      const r = await api(base, 'GET', `/api/campaigns/${id}`);
      return r.body.status === 'FINISHED' ? r.body : undefined;
    }, { what: 'the campaign to finish', timeoutMs: TIMEOUT, intervalMs: 1000 }).catch((error: Error) => { throw new Error(`${error.message}\n${platform.logs()}`); });
    const q = async (sql: string) => (await platform.db.pool.query(sql)).rows;
    // FINISHED follows the last Aggregation result; the contacts list is a read model of its own and may still be applying it.
    await eventually(async () => (await q(`
      select count(*)::int as n from herald_streams s
        left join herald_consumer_progress p on p.consumer_group = '${CONTACT_LIST_GROUP}' and p.stream_id = s.stream_id
       where s.stream_id like 'contact-%' and coalesce(p.revision, -1) < s.revision`))[0].n === 0 ? true : undefined,
    { what: 'the contacts list to apply every contact event', timeoutMs: 120_000, intervalMs: 500 });
    const seconds = (Date.now() - started) / 1000;
    const byStageOutcome = Object.fromEntries((await q(`select coalesce(current_stage, '-') || '/' || outcome as k, count(*)::int as n from contact_list group by 1 order by 1`)).map((r) => [r.k, r.n]));
    const eventsByType = Object.fromEntries((await q(`select type as k, count(*)::int as n from herald_events where stream_id like 'contact-%' group by 1 order by 1`)).map((r) => [r.k, r.n]));
    const [{ n: duplicateCreates }] = await q(`select count(*)::int as n from (select stream_id from herald_events where type = 'ContactCreated' group by 1 having count(*) > 1) d`);
    const communications = Object.fromEntries((await q(`
      select e.data->>'status' as k, count(*)::int as n from herald_events e where e.type = 'CommunicationEnded' group by 1 order by 1`)).map((r) => [r.k, r.n]));
    const [{ n: ledger }] = await q(`select count(*)::int as n from dispatch_send_ledger`);
    // Every contact's final state, reduced to what must not depend on timing.
    const [{ digest }] = await q(`select md5(string_agg(contact_key || ':' || coalesce(current_stage, '') || ':' || outcome || ':' || communications || ':' || (results->>'ResultFlag'), ',' order by contact_key)) as digest from contact_list`);
    const [{ n: contacts }] = await q(`select count(*)::int as n from contact_list`);
    if (process.env.TIMELINE) console.log(JSON.stringify(await q(`select type, count(*)::int n, extract(epoch from min(recorded_at) - '${new Date(started).toISOString()}'::timestamptz)::numeric(8,1) t0, extract(epoch from max(recorded_at) - '${new Date(started).toISOString()}'::timestamptz)::numeric(8,1) t1 from herald_events group by 1 order by 3`)));
    return { contacts, byStageOutcome, communications, eventsByType, duplicateCreates, ledger, campaignStatus: finished.status, seconds, digest };
  } finally {
    await platform.stop();
  }
}

describe(`scale-out: ${CONTACTS.toLocaleString('en')} contacts, one process per service vs two replicas with rebalancing`, () => {
  const results: Partial<Record<'single' | 'scaled', Outcome>> = {};
  after(() => {
    if (process.env.HERALD_SCALE_REPORT) writeFileSync(process.env.HERALD_SCALE_REPORT, JSON.stringify({ contacts: CONTACTS, at: new Date().toISOString(), ...results }, null, 2));
  });

  it('one process per service', { timeout: TIMEOUT }, async () => {
    results.single = await runCampaign(false);
    assert.equal(results.single.contacts, CONTACTS);
    assert.equal(results.single.duplicateCreates, 0);
    assert.equal(results.single.communications.COMPLETED, CONTACTS);
    assert.equal(results.single.ledger, CONTACTS);
  });

  it('two replicas of each consumer, joining and dying mid-run, end in exactly the same state', { timeout: TIMEOUT }, async () => {
    assert.ok(results.single, 'the single-replica run ran first');
    results.scaled = await runCampaign(true);
    const { seconds: _a, ...single } = results.single;
    const { seconds: _b, ...scaled } = results.scaled;
    assert.deepEqual(scaled, single);
  });
});
