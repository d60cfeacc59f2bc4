import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { topicsFor, type RecordedEvent } from '@herald/contracts';
import { eventually } from '@herald/testing';
import { readTopic, startPlatform, type Platform } from './platform';
import { reportCase, since } from './report';
import { createCampaign, liveAndRebuilt, settled, upload, uploadReport } from './scenario';

/*
 * Issue 9, point 6: the relay's process is killed -9 right after Kafka
 * acknowledged a batch and before the relay's checkpoint moved
 * (HERALD_FAULT_RELAY_KILL_AFTER_BATCHES, libs/service-defaults/src/core.module.ts).
 * Another process's relay takes the lead and publishes the batch again.
 * Every event must be on its topics at least once, and the read models fed
 * from those topics must equal their rebuild from the log: the duplicates
 * changed nothing.
 *
 * The test holds the leader lock from the start, so the faulty process (a
 * second campaigns replica) leads from its first batch, which then holds the
 * campaign's configuration events and the first contacts of an upload still
 * running.
 */
const CONTACTS = 3000;
const KILL_AFTER_BATCHES = 2;

const DATA_LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    contact.current_stage = "1 Loaded"
    return contact
`;

describe('resilience: kill -9 the relay between the Kafka acknowledgement and its checkpoint', () => {
  let platform: Platform;

  before(async () => {
    platform = await startPlatform({ prefix: 'herald_res_relay', holdRelayLock: true });
  });
  after(async () => platform?.stop());

  it('republishes the unacknowledged batch; every event reaches its topics, read models equal the rebuild', { timeout: 600_000 }, async (t) => {
    const started = Date.now();
    try {
      const { pool } = platform.db;
      const faulty = platform.start('campaigns', { HERALD_FAULT_RELAY_KILL_AFTER_BATCHES: String(KILL_AFTER_BATCHES) });
      await platform.waitReady([faulty]);
      const id = await createCampaign(platform.base, { name: 'Kill the relay', stages: [{ name: '1 Loaded', channel: 'no_communication' }], strategies: { DATA_LOAD } });
      const lines = ['object_id,name,email'];
      for (let i = 1; i <= CONTACTS; i++) lines.push(`R-${i},Contact ${i},r${i}@example.com`);
      const uploadId = await upload(platform.base, id, 'contacts.csv', lines.join('\n'));
      // More than two relay batches (500 events each) wait in the log when the faulty process takes the lead.
      await eventually(async () => Number((await pool.query('select position from herald_log_head')).rows[0].position) > 1200, { what: 'a backlog', timeoutMs: 120_000, intervalMs: 50 });
      assert.equal(await platform.relayLeader(), 'resilience-test', 'no relay published before the hand-over');
      await platform.makeLeader(faulty);
      await eventually(() => faulty.child.signalCode === 'SIGKILL', { what: 'the faulty relay process to kill itself', timeoutMs: 60_000 });
      const checkpointAtKill = Number((await pool.query(`select coalesce(max(position), 0) as p from herald_checkpoints where name = 'relay:default'`)).rows[0].p);
      assert.equal(checkpointAtKill, 500 * (KILL_AFTER_BATCHES - 1), 'the checkpoint stayed one batch behind what Kafka acknowledged');
      const successor = await eventually(async () => {
        const app = await platform.relayLeader();
        return app && app !== faulty.app ? app : undefined;
      }, { what: 'another relay to take the lead', timeoutMs: 30_000 });
      t.diagnostic(`relay killed after ${KILL_AFTER_BATCHES} batches (checkpoint ${checkpointAtKill}); ${successor} took over`);

      const report = await uploadReport(platform.base, id, uploadId);
      assert.equal(report.imported, CONTACTS, JSON.stringify(report));
      // The relay caught up with the log...
      const head = async () => Number((await pool.query('select position from herald_log_head')).rows[0].position);
      await eventually(async () => {
        const { rows } = await pool.query(`select position from herald_checkpoints where name = 'relay:default'`);
        return rows.length && Number(rows[0].position) === (await head());
      }, { what: 'the relay to publish the whole log', timeoutMs: 120_000, intervalMs: 500 });
      // ...and the consumers with the topics.
      await settled(pool, [id], (m) => m.contact_list.length === CONTACTS && m.contact_list.every((c: any) => c.current_stage === '1 Loaded')
        && (m.campaign_list[0] as any)?.state?.contactCount === CONTACTS);

      // Every event on each of its topics at least once; the batch acknowledged before the kill, twice.
      const { rows: events } = await pool.query<{ position: string; stream_id: string; type: string; data: unknown; event_id: string }>(
        `select position, stream_id, type, data, metadata->>'eventId' as event_id from herald_events order by position`);
      const expected = new Map<string, Set<string>>();
      for (const e of events) {
        for (const topic of topicsFor({ streamId: e.stream_id, type: e.type, data: e.data } as RecordedEvent)) {
          if (!expected.has(topic)) expected.set(topic, new Set());
          expected.get(topic)!.add(e.event_id);
        }
      }
      let messages = 0;
      let duplicates = 0;
      let missing = 0;
      for (const [topic, ids] of expected) {
        const seen = new Map<string, number>();
        for (const m of await readTopic(platform.topicPrefix + topic)) seen.set(m.eventId, (seen.get(m.eventId) ?? 0) + 1);
        for (const id of ids) if (!seen.has(id)) missing += 1;
        for (const n of seen.values()) duplicates += n - 1;
        messages += [...seen.values()].reduce((a, b) => a + b, 0);
      }
      assert.equal(missing, 0, 'every event reached each of its topics');
      assert.ok(duplicates >= 1 && duplicates <= 500, `the republished batch is on the topics twice (${duplicates} duplicate messages)`);

      const { live, rebuilt } = await liveAndRebuilt(pool, [id]);
      assert.equal(live.contact_list.length, CONTACTS);
      assert.deepEqual(live, rebuilt, 'the read models equal their rebuild from the log');

      reportCase({
        point: 6, name: 'kill -9 the relay after the Kafka ack, before its checkpoint', faults: 1, checked: CONTACTS, lost: missing, duplicates: 0, ms: since(started),
        notes: `${events.length} events, ${messages} messages; ${duplicates} republished messages absorbed by the consumers`,
      });
    } catch (error) {
      t.diagnostic(platform.logs());
      throw error;
    }
  });
});
