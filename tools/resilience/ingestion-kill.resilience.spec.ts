import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@herald/testing';
import { api } from '../../services/gateway/e2e/walking-skeleton';
import { startPlatform, type Platform } from './platform';
import { reportCase, since } from './report';
import { createCampaign, seeded, upload, uploadReport } from './scenario';

/*
 * Issue 9, point 5: kill -9 the ingestion service at a row of a 100,000-row
 * upload picked by a seed, restart it, and the upload ends with exactly
 * 100,000 contacts and not one event twice.
 *
 * The worker imports in batches of 500 rows (one append per batch) and keeps
 * two batches in flight, so the kill lands somewhere in the pipeline around
 * the seed's row: during a Data Load call, an append, or between an append
 * and the saved progress (the case that re-runs a batch). The restarted
 * process takes the upload over when its lease ends (HERALD_UPLOAD_LEASE_SECONDS,
 * 3 s here instead of 60). The campaign has no Data Load strategy (rows are
 * imported as they are, one ContactCreated each): the pipeline, its Data Load
 * call and its crash recovery are the same, at twice the speed of one that
 * runs Python on every row, which on two shared cores is the difference
 * between 2 and 4 minutes per seed.
 */
const ROWS = Number(process.env.RESILIENCE_UPLOAD_ROWS ?? 100_000);
const SEEDS = (process.env.RESILIENCE_SEEDS ?? '1,2,3').split(',').map(Number);
const LEASE = '3';


function contactsCsv(seed: number): Buffer {
  const lines = ['object_id,name,email,n'];
  for (let i = 1; i <= ROWS; i++) lines.push(`S${seed}-${i},Contact ${i},c${i}.s${seed}@example.com,${i}`);
  return Buffer.from(lines.join('\n') + '\n');
}

describe(`resilience: kill -9 ingestion during a ${ROWS.toLocaleString('en')}-row upload (seeds ${SEEDS.join(', ')})`, () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform({ prefix: 'herald_res_ingest', env: { HERALD_UPLOAD_LEASE_SECONDS: LEASE } });
  });
  after(async () => platform?.stop());

  for (const seed of SEEDS) {
    it(`seed ${seed}: the restarted ingestion finishes the upload with every row once`, { timeout: 900_000 }, async (t) => {
      const started = Date.now();
      try {
        const { pool } = platform.db;
        const killAt = 1 + Math.floor(seeded(seed)() * (ROWS - 1));
        const id = await createCampaign(platform.base, { name: `Kill ingestion, seed ${seed}`, stages: [{ name: '1 Loaded', channel: 'no_communication' }], strategies: {} });
        const stream = `contact-${id}-%`;
        const imported = async () => Number((await pool.query(`select count(*)::int as n from herald_events where type = 'ContactCreated' and stream_id like $1`, [stream])).rows[0].n);

        const head = async () => Number((await pool.query('select position from herald_log_head')).rows[0].position);
        const uploadId = await upload(platform.base, id, 'contacts.csv', contactsCsv(seed));
        // The seed's row: kill as soon as the import has reached it. Nothing else appends meanwhile, and each row
        // appends one event, so the log head tells the rows stored without counting them.
        const head0 = await head();
        await eventually(async () => (await head()) - head0 >= killAt, { what: `row ${killAt} to be imported`, timeoutMs: 600_000, intervalMs: 10 });
        // Hold the upload's row so the worker cannot save its progress: it appends the batches already in
        // flight and then waits. Killed there, it leaves rows stored whose progress was never saved, the
        // window a crash between an append and its bookkeeping opens (the restart must not import them twice).
        const hold = await pool.connect();
        let importedAtKill: number;
        let doneAtKill: number;
        try {
          await hold.query('begin');
          await hold.query('select 1 from ingestion_uploads where id = $1 for update', [uploadId]);
          const [ingestion] = platform.processes('ingestion');
          // The worker's bookkeeping statement now waits for the row: everything it could append before, it has.
          await eventually(async () => {
            const { rows } = await pool.query(`select count(*)::int as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock' and query like 'update ingestion_uploads set rows_done%'`, [ingestion.app]);
            return rows[0].n > 0;
          }, { what: 'the worker to wait for its progress row', timeoutMs: 120_000, intervalMs: 100 });
          await platform.kill('ingestion');
          assert.equal(ingestion.child.signalCode, 'SIGKILL');
          // The dead process's statement still waits for the row: end it, or it would commit once the row is free.
          await pool.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [ingestion.app]);
          const { rows: [u] } = await hold.query(`select state, rows_done from ingestion_uploads where id = $1`, [uploadId]);
          assert.equal(u.state, 'processing', 'the upload was cut in the middle');
          importedAtKill = await imported();
          doneAtKill = u.rows_done - 1; // rows_done counts the header as row 1
        } finally {
          await hold.query('rollback').catch(() => undefined);
          hold.release();
        }
        assert.ok(importedAtKill >= killAt && importedAtKill < ROWS, `killed past row ${killAt}, before the end (${importedAtKill} rows stored)`);
        assert.ok(importedAtKill > doneAtKill, `rows stored (${importedAtKill}) beyond the saved progress (${doneAtKill})`);
        t.diagnostic(`seed ${seed}: killed at row ${killAt}: ${importedAtKill} contacts stored, progress saved up to ${doneAtKill}`);

        const killedAt = Date.now();
        platform.start('ingestion');
        const report = await uploadReport(platform.base, id, uploadId, 600_000);
        const completedAt = Date.now();
        assert.equal(report.state, 'completed', JSON.stringify(report));
        assert.equal(report.imported, ROWS);
        assert.equal(report.rejected, 0);
        assert.equal(report.rowsRead, ROWS);

        // The log: one contact stream per row, each with exactly one event, its ContactCreated, of this upload's row.
        const { rows: [log] } = await pool.query(
          `select count(*)::int as events, count(distinct stream_id)::int as streams,
                  count(*) filter (where type = 'ContactCreated' and revision = 0)::int as created,
                  count(distinct metadata->>'eventId')::int as ids, count(distinct (data->>'row'))::int as rows,
                  count(*) filter (where data->>'uploadId' <> $2)::int as foreign
             from herald_events where stream_id like $1`, [stream, uploadId]);
        assert.deepEqual(log, { events: ROWS, streams: ROWS, created: ROWS, ids: ROWS, rows: ROWS, foreign: 0 });
        // The campaign's record of the upload: completed once, counting every contact as created.
        const { rows: completions } = await pool.query(`select data from herald_events where stream_id = $1 and type = 'ContactsUploadCompleted'`, [`campaign-${id}`]);
        assert.equal(completions.length, 1);
        assert.deepEqual(completions[0].data, { uploadId, rowsRead: ROWS, imported: ROWS, created: ROWS, rejected: 0 });
        const campaign = await api(platform.base, 'GET', `/api/campaigns/${id}`);
        assert.equal(campaign.body.contactCount, ROWS);
        // And the contacts read model, fed through Kafka, holds each once.
        await eventually(async () => {
          const { rows } = await pool.query(`select count(*)::int as n from contact_list where campaign_id = $1`, [id]);
          return rows[0].n === ROWS;
        }, { what: `${ROWS} contacts in contact_list`, timeoutMs: 300_000, intervalMs: 1000 });

        t.diagnostic(`seed ${seed}: ${((killedAt - started) / 1000).toFixed(0)} s to the kill, ${((completedAt - killedAt) / 1000).toFixed(0)} s to complete after it, ${((Date.now() - completedAt) / 1000).toFixed(0)} s for the read model`);
        reportCase({
          point: 5, name: `kill -9 ingestion, ${ROWS / 1000}k-row upload, seed ${seed}`, faults: 1, checked: log.streams, lost: ROWS - log.streams,
          duplicates: log.events - log.streams, ms: since(started),
          notes: `killed at row ${killAt}: ${importedAtKill} stored, progress saved at ${doneAtKill}`,
        });
      } catch (error) {
        t.diagnostic(platform.logs());
        throw error;
      }
    });
  }
});
