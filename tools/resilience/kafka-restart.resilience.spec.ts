import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { eventually, REPO_ROOT, startSmtpServer } from '@herald/testing';
import { startPlatform, type Platform } from './platform';
import { reportCase, since } from './report';
import { checkEmailCampaign, startEmailCampaign } from './scenario';

/*
 * Issue 9, point 7: the Kafka broker restarts in the middle of a campaign.
 * The campaign emails CONTACTS contacts, spread over SPREAD seconds; once a
 * quarter of the emails have arrived the broker is stopped
 * (deploy/local/kafka.sh stop: its data is kept), left down a few seconds
 * while the scheduler keeps firing into the event store, and started again.
 * The relay's producer and every consumer must recover by themselves:
 * every contact's communication completes, every email arrives exactly once,
 * the read models equal their rebuild, and the relay publishes what was
 * appended while the broker was away. The broker is started again after the
 * test whatever happened.
 */
const CONTACTS = 120;
const SPREAD = 40;
const DOWN_MS = 5000;

const kafka = async (command: 'start' | 'stop') => {
  const { stdout } = await promisify(execFile)('bash', ['deploy/local/kafka.sh', command], { cwd: REPO_ROOT, timeout: 180_000 });
  return stdout.trim();
};

describe('resilience: the Kafka broker restarts during a campaign', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let platform: Platform;

  before(async () => {
    smtp = await startSmtpServer();
    platform = await startPlatform({ prefix: 'herald_res_kafka' });
  });
  after(async () => {
    // Whatever the test did, the broker runs again for whoever comes next.
    await kafka('start').catch((error) => console.error(`kafka.sh start failed: ${error}`));
    await platform?.stop();
    await smtp?.close();
  });

  it('loses nothing, sends nothing twice, and the producers recover', { timeout: 600_000 }, async (t) => {
    const started = Date.now();
    try {
      const { pool } = platform.db;
      const head = async () => Number((await pool.query('select position from herald_log_head')).rows[0].position);
      const id = await startEmailCampaign(platform.base, smtp.port, CONTACTS, SPREAD);
      await eventually(() => smtp.received.length >= CONTACTS / 4, { what: 'a quarter of the emails', timeoutMs: 180_000, intervalMs: 100 });

      const sentBefore = smtp.received.length;
      const stopping = Date.now();
      t.diagnostic(await kafka('stop'));
      const headDown = await head();
      await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
      const restarting = Date.now();
      t.diagnostic(await kafka('start'));
      const outage = Date.now() - stopping;
      const appendedWhileDown = (await head()) - headDown;
      t.diagnostic(`broker stopped after ${sentBefore} emails; down ${outage} ms (start took ${Date.now() - restarting} ms); ${appendedWhileDown} events appended meanwhile`);
      assert.ok(sentBefore < CONTACTS, 'the restart fell in the middle of the campaign');
      assert.ok(appendedWhileDown > 0, 'the platform kept appending while the broker was away');

      const outcome = await checkEmailCampaign(platform.base, pool, id, CONTACTS, smtp.received);
      // The relay published everything, including what waited during the outage.
      await eventually(async () => {
        const { rows } = await pool.query(`select position from herald_checkpoints where name = 'relay:default'`);
        return Number(rows[0]?.position ?? 0) === (await head());
      }, { what: 'the relay to catch up with the log', timeoutMs: 60_000, intervalMs: 500 });

      reportCase({
        point: 7, name: 'Kafka broker restart during a campaign', faults: 1, checked: CONTACTS, lost: outcome.missingEmails,
        duplicates: outcome.extraEmails + outcome.extraEvents, ms: since(started),
        notes: `broker down ${(outage / 1000).toFixed(1)} s after ${sentBefore} of ${CONTACTS} emails; ${appendedWhileDown} events appended meanwhile, published after`,
      });
    } catch (error) {
      t.diagnostic(platform.logs());
      throw error;
    }
  });
});
