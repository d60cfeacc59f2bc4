import assert from 'node:assert/strict';
import type { Pool } from 'pg';
import { PostgresEventStore } from '@herald/event-store';
import { eventually } from '@herald/testing';
import { file, form } from '../../services/gateway/e2e/harness';
import { api } from '../../services/gateway/e2e/walking-skeleton';
import { PROJECTIONS } from '../projections/registry';
import { rebuildProjection } from '../projections/rebuild';

/** A deterministic generator (mulberry32): the seed picks the fault's moment, the run can be repeated. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CampaignSpec {
  name: string;
  stages: { name: string; channel: string; settings?: Record<string, unknown> }[];
  strategies: Partial<Record<'DATA_LOAD' | 'AGGREGATION', string>>;
  integration?: { name: string; port: number };
}

/** Creates a campaign through the API: integration (SMTP), stages, strategies. Returns its id. */
export async function createCampaign(base: string, spec: CampaignSpec): Promise<string> {
  if (spec.integration) {
    const i = await api(base, 'POST', '/api/integrations', {
      name: spec.integration.name, type: 'smtp', config: { host: '127.0.0.1', port: spec.integration.port, secure: false, from: 'resilience@herald.example' },
    });
    assert.equal(i.status, 201, JSON.stringify(i.body));
  }
  const c = await api(base, 'POST', '/api/campaigns', { name: spec.name, description: 'resilience suite' });
  assert.equal(c.status, 201, JSON.stringify(c.body));
  const id = c.body.id as string;
  for (const s of spec.stages) {
    const r = await api(base, 'POST', `/api/campaigns/${id}/stages`, { name: s.name, description: s.name, channel: s.channel, settings: s.settings ?? {} });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  for (const [type, code] of Object.entries(spec.strategies)) {
    const r = await api(base, 'POST', `/api/campaigns/${id}/strategies`, form({ name: type, description: type, type, functionName: 'run', file: file(`${type.toLowerCase()}.py`, code, 'text/x-python') }));
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  return id;
}

/** Posts a contacts file; returns the upload id (202). */
export async function upload(base: string, campaignId: string, name: string, content: Buffer | string): Promise<string> {
  const r = await api(base, 'POST', `/api/campaigns/${campaignId}/contacts/uploads`, form({ file: file(name, content, 'text/csv') }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.id as string;
}

export async function uploadReport(base: string, campaignId: string, uploadId: string, timeoutMs = 300_000): Promise<any> {
  return eventually(async () => {
    const r = await api(base, 'GET', `/api/campaigns/${campaignId}/contacts/uploads/${uploadId}`);
    return r.body.state === 'completed' || r.body.state === 'failed' ? r.body : undefined;
  }, { what: `upload ${uploadId} to finish`, timeoutMs, intervalMs: 250 });
}

/** The two read models the log can rebuild (tools/projections/registry.ts), rows in key order. */
export async function readModels(pool: Pool, campaignIds: readonly string[]): Promise<Record<string, unknown[]>> {
  const campaigns = await pool.query('select * from campaign_list where campaign_id = any($1) order by campaign_id', [campaignIds]);
  const contacts = await pool.query('select * from contact_list where campaign_id = any($1) order by campaign_id, contact_key', [campaignIds]);
  return { campaign_list: campaigns.rows, contact_list: contacts.rows };
}

/**
 * The read models as the services left them, and as rebuilt from the log by
 * `npm run projections:rebuild`'s code (every event applied exactly once).
 * Run when the platform is quiet: the rebuild swaps its tables in.
 */
export async function liveAndRebuilt(pool: Pool, campaignIds: readonly string[]): Promise<{ live: Record<string, unknown[]>; rebuilt: Record<string, unknown[]> }> {
  const live = await readModels(pool, campaignIds);
  const store = await PostgresEventStore.create(pool, { pollIntervalMs: 100 });
  try {
    for (const def of PROJECTIONS) await rebuildProjection(pool, store, def, { concurrentWriters: true });
  } finally {
    await store.close();
  }
  return { live, rebuilt: await readModels(pool, campaignIds) };
}

/** Waits until the consumer groups' read models stop moving (the same snapshot twice, `quietMs` apart). */
export async function settled(pool: Pool, campaignIds: readonly string[], probe: (models: Record<string, unknown[]>) => boolean, timeoutMs = 180_000): Promise<void> {
  let last = '';
  await eventually(async () => {
    const models = await readModels(pool, campaignIds);
    const now = JSON.stringify(models);
    const same = now === last;
    last = now;
    return same && probe(models);
  }, { what: 'the read models to settle', timeoutMs, intervalMs: 1500 });
}

/** Plans one email per contact, spread over `spreadSeconds` from the upload, and ends each contact POSITIVE in "2 Done". */
export const emailStrategies = (spreadSeconds: number) => ({
  DATA_LOAD: `
def run(contact, existing_contact, logger, **kwargs):
    n = int(contact.parameters.get("n", "0"))
    start = kwargs["now"] + timedelta(seconds=n % ${spreadSeconds})
    contact.communications.append(Communication(name="Reminder", stage_name="1 Reminder", start_date=start, end_date=start + timedelta(hours=1)))
    contact.current_stage = "1 Reminder"
    return contact
`,
  AGGREGATION: `
def run(contact, session_results, logger, **kwargs):
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    if session_results.get("delivered"):
        contact.outcome = OutcomeStatus.POSITIVE
        contact.current_stage = "2 Done"
    return contact
`,
});

export const emailAddress = (i: number) => `contact${i}@example.com`;

/** Creates and starts a campaign emailing `contacts` contacts through the SMTP server on `smtpPort`; returns its id. */
export async function startEmailCampaign(base: string, smtpPort: number, contacts: number, spreadSeconds: number): Promise<string> {
  const id = await createCampaign(base, {
    name: 'Email campaign under faults',
    integration: { name: 'mail', port: smtpPort },
    stages: [
      { name: '1 Reminder', channel: 'email_notification', settings: { integration: 'mail', subject: 'Reminder for {{name}}', template: 'Hello {{name}}, this is your reminder.' } },
      { name: '2 Done', channel: 'no_communication' },
    ],
    strategies: emailStrategies(spreadSeconds),
  });
  const lines = ['object_id,name,email,n'];
  for (let i = 1; i <= contacts; i++) lines.push(`M-${i},Contact ${i},${emailAddress(i)},${i}`);
  const uploadId = await upload(base, id, 'contacts.csv', lines.join('\n'));
  const report = await uploadReport(base, id, uploadId);
  assert.equal(report.imported, contacts, JSON.stringify(report));
  await eventually(async () => (await api(base, 'POST', `/api/campaigns/${id}/start`)).status === 200, { what: 'the campaign to start', timeoutMs: 60_000, intervalMs: 250 });
  return id;
}

export interface EmailOutcome {
  /** Contacts whose communication completed, delivered, and who reached "2 Done" POSITIVE. */
  completed: number;
  /** Emails beyond one per contact. */
  extraEmails: number;
  /** Contacts without their email. */
  missingEmails: number;
  /** Events beyond one ContactCreated / CommunicationPlanned / Started / Ended per contact. */
  extraEvents: number;
}

/**
 * Waits for the campaign to finish, then checks what a single, fault-free
 * delivery gives: each contact emailed once, one communication planned,
 * started and ended (COMPLETED, DELIVERED) per contact, one `sent` row of the
 * send ledger per started communication, every contact POSITIVE in "2 Done",
 * and read models equal to their rebuild from the log.
 */
export async function checkEmailCampaign(base: string, pool: Pool, id: string, contacts: number, received: { to: string[] }[], diagnose?: () => Promise<string>): Promise<EmailOutcome> {
  await eventually(async () => (await api(base, 'GET', `/api/campaigns/${id}`)).body.status === 'FINISHED', { what: 'the campaign to finish', timeoutMs: 300_000, intervalMs: 1000 })
    .catch(async (error: Error) => {
      const { rows: events } = await pool.query(`select type, count(*)::int as n from herald_events where stream_id like $1 group by 1 order by 1`, [`contact-${id}-%`]);
      const { rows: ledger } = await pool.query(`select state, count(*)::int as n from dispatch_send_ledger group by 1`);
      const status = (await api(base, 'GET', `/api/campaigns/${id}`)).body.status;
      const more = diagnose ? await diagnose().catch((e: Error) => `diagnosis failed: ${e.message}`) : '';
      throw new Error(`${error.message}\ncampaign ${status}; contact events ${JSON.stringify(events)}; ledger ${JSON.stringify(ledger)}; ${received.length} emails\n${more}`);
    });
  await settled(pool, [id], (m) => m.contact_list.length === contacts && m.contact_list.every((c: any) => c.outcome === 'POSITIVE'));

  const perAddress = new Map<string, number>();
  for (const mail of received) for (const to of mail.to) perAddress.set(to, (perAddress.get(to) ?? 0) + 1);
  let missingEmails = 0;
  let extraEmails = 0;
  for (let i = 1; i <= contacts; i++) {
    const n = perAddress.get(emailAddress(i)) ?? 0;
    if (n === 0) missingEmails += 1;
    else extraEmails += n - 1;
  }
  extraEmails += [...perAddress.keys()].filter((a) => !/^contact\d+@example\.com$/.test(a)).length;

  const stream = `contact-${id}-%`;
  const { rows: counts } = await pool.query<{ type: string; n: number; streams: number }>(
    `select type, count(*)::int as n, count(distinct stream_id)::int as streams from herald_events where stream_id like $1
      and type in ('ContactCreated', 'CommunicationPlanned', 'CommunicationStarted', 'CommunicationEnded') group by type order by type`, [stream]);
  const extraEvents = counts.reduce((sum, c) => sum + (c.n - c.streams), 0);
  assert.deepEqual(counts.map((c) => [c.type, c.n, c.streams]), ['CommunicationEnded', 'CommunicationPlanned', 'CommunicationStarted', 'ContactCreated'].map((t) => [t, contacts, contacts]),
    'one of each per contact');
  const { rows: ends } = await pool.query(`select data->>'status' as status, data->>'sessionStatus' as session, count(*)::int as n from herald_events
                                            where stream_id like $1 and type = 'CommunicationEnded' group by 1, 2`, [stream]);
  assert.deepEqual(ends, [{ status: 'COMPLETED', session: 'DELIVERED', n: contacts }]);
  const { rows: ledger } = await pool.query(
    `select l.state, count(*)::int as n, count(e.position)::int as matched from dispatch_send_ledger l
       left join herald_events e on e.type = 'CommunicationStarted' and e.stream_id like $1 and e.data->>'communicationId' = l.communication_id
      group by l.state`, [stream]);
  assert.deepEqual(ledger, [{ state: 'sent', n: contacts, matched: contacts }], 'the send ledger: one sent row per started communication');
  assert.equal(missingEmails, 0, 'every contact got its email');
  assert.equal(extraEmails, 0, 'no contact got it twice');

  const { live, rebuilt } = await liveAndRebuilt(pool, [id]);
  assert.deepEqual(live, rebuilt, 'the read models equal their rebuild from the log');
  const summary = live.contact_list.map((c: any) => `${c.current_stage}/${c.outcome}/${c.communications}`);
  assert.deepEqual([...new Set(summary)], ['2 Done/POSITIVE/1']);
  return { completed: summary.length, extraEmails, missingEmails, extraEvents };
}
