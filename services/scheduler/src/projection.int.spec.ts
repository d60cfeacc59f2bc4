import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { campaignStreamId, contactStreamId, newEvent, type RecordedEvent } from '@herald/contracts';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { ensureSchedulerSchema, projectSchedulerEvent, projectSchedulerMany } from './scheduler-core';

const CAMPAIGN = '00000000-0000-4000-8000-00000000c0de';
const meta = { workspaceId: 'ws-bulk' };
const at = (minutes: number) => new Date(Date.UTC(2026, 11, 3, 9, minutes)).toISOString();

/** Recorded events of many streams, interleaved as a consumer receives them; revisions and positions counted per stream and overall. */
function history(): RecordedEvent[] {
  const revisions = new Map<string, number>();
  const out: RecordedEvent[] = [];
  const push = (streamId: string, type: string, data: unknown) => {
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    out.push({ ...newEvent(type as never, data as never, meta), streamId, revision, position: out.length + 1 } as RecordedEvent);
  };
  const contact = (key: string) => contactStreamId(CAMPAIGN, key);
  const created = (key: string, email: string | null, phone: string | null, parameters: Record<string, string> = {}) =>
    push(contact(key), 'ContactCreated', { campaignId: CAMPAIGN, key, objectId: key, externalId: null, name: `Person ${key}`, email, phone, parameters, uploadId: 'u1', row: 1 });
  const planned = (key: string, id: string, start: number, end: number | null) =>
    push(contact(key), 'CommunicationPlanned', { communication: { id, name: `n-${id}`, stageName: 'Reminder', startDate: at(start), endDate: end === null ? null : at(end) } });
  const started = (key: string, id: string, minute: number) => push(contact(key), 'CommunicationStarted', {
    communicationId: id, campaignId: CAMPAIGN, contactKey: key, stageName: 'Reminder', channel: 'email_notification', agent: null, variant: null, startedAt: at(minute), sessionId: null,
  });
  const ended = (key: string, id: string, status = 'COMPLETED') => push(contact(key), 'CommunicationEnded', { communicationId: id, status, sessionStatus: null, result: 'ok', finishedAt: at(30), sessionResults: null });

  push(campaignStreamId(CAMPAIGN), 'CampaignCreated', { campaignId: CAMPAIGN, name: 'c', description: 'd', labels: [] });
  push(campaignStreamId(CAMPAIGN), 'ContactsUploadStarted', { uploadId: 'u1', fileName: 'c.csv' });
  // An upload: contacts created and planned, streams interleaved.
  const keys = ['o:a', 'o:b', 'o:c', 'o:d', 'o:e', 'o:f'];
  for (const [i, key] of keys.entries()) {
    created(key, i % 3 === 2 ? null : `${key.slice(2)}@example.com`, i % 2 ? `+1 202 555 010${i}` : null, i === 1 ? { timezone: 'Europe/Paris' } : {});
    if (i > 0) planned(keys[i - 1], `c-${i - 1}`, i, i + 60); // the previous contact's plan comes after this one's creation
  }
  planned('o:f', 'c-5', 6, null);
  for (const key of ['o:a', 'o:b', 'o:c']) push(contact(key), 'ContactStageChanged', { from: null, to: 'Reminder' });
  push(campaignStreamId(CAMPAIGN), 'CampaignStarted', {});
  // Starts and ends, a second plan after an end (the Aggregation hook), an outcome.
  started('o:a', 'c-0', 10);
  started('o:b', 'c-1', 11);
  ended('o:a', 'c-0');
  push(contact('o:a'), 'ContactOutcomeSet', { outcome: 'SUCCESS', previous: 'UNCERTAIN' });
  planned('o:a', 'c-0b', 40, 90);
  started('o:c', 'c-2', 12);
  ended('o:b', 'c-1');
  ended('o:c', 'c-2');
  planned('o:c', 'c-2', 12, null); // the same communication planned again after it ended: the run must end before it
  // Events applied one by one in their place: details, parameters, a moved plan, a cancellation.
  push(contact('o:d'), 'ContactDetailsChanged', { email: 'd.new@example.com', phone: '+12025550199' });
  push(contact('o:d'), 'ContactParametersChanged', { parameters: { timezone: 'Asia/Tokyo' } });
  push(contact('o:e'), 'CommunicationUpdated', { communicationId: 'c-4', changes: { startDate: at(50), stageName: 'Later' } });
  started('o:d', 'c-3', 20);
  push(contact('o:f'), 'CommunicationCancelled', { communicationId: 'c-5' });
  push(contact('o:b'), 'ContactResultsChanged', { results: { ResultFlag: true } });
  push(campaignStreamId(CAMPAIGN), 'ContactsUploadCompleted', { uploadId: 'u1', rowsRead: 6, imported: 6, created: 6, rejected: 0 });
  ended('o:d', 'c-3');
  started('o:e', 'c-4', 51);
  ended('o:a', 'c-0b', 'MISSED'); // never started: its cap reservation is released
  return out;
}

// Real PostgreSQL: the scheduler's batch projection leaves exactly the rows of the event-by-event one.
describe('scheduler projection: a batch in a few statements, the same rows as one event at a time', () => {
  let one: TestDatabase;
  let many: TestDatabase;
  before(async () => {
    one = await createTestDatabase('herald_sched_one');
    many = await createTestDatabase('herald_sched_many');
    for (const db of [one, many]) await ensureSchedulerSchema(db.pool);
  });
  after(async () => {
    await one?.drop();
    await many?.drop();
  });

  const tables = async (db: TestDatabase) => ({
    campaigns: (await db.pool.query('select * from scheduler_campaigns order by campaign_id')).rows,
    contacts: (await db.pool.query('select * from scheduler_contacts order by stream_id')).rows,
    communications: (await db.pool.query('select * from scheduler_communications order by communication_id')).rows,
    starts: (await db.pool.query('select * from scheduler_starts order by communication_id, identity')).rows,
  });

  it('in batches of every size, including a cap reservation released by an end', async () => {
    const events = history();
    for (const size of [1, 2, 3, 5, 8, 13, events.length]) {
      for (const db of [one, many]) {
        await db.pool.query('truncate scheduler_campaigns, scheduler_contacts, scheduler_communications, scheduler_starts');
        // The timer loop reserved cap slots (unconfirmed starts): for c-1 before it fired, for c-5, which is cancelled, and
        // for c-0b, which ends MISSED without a start.
        await db.pool.query(`insert into scheduler_starts (communication_id, identity, workspace_id, at, confirmed) values
          ('c-1', 'e:b@example.com', 'ws-bulk', $1, false), ('c-5', 'p:+12025550105', 'ws-bulk', $1, false),
          ('c-0b', 'e:a@example.com', 'ws-bulk', $1, false)`, [at(5)]);
      }
      for (let from = 0; from < events.length; from += size) {
        const batch = events.slice(from, from + size);
        for (const db of [one, many]) {
          const client = await db.pool.connect();
          try {
            await client.query('begin');
            if (db === one) for (const e of batch) await projectSchedulerEvent(e, '', client);
            else await projectSchedulerMany(batch.map((event) => ({ event, topic: '' })), client);
            await client.query('commit');
          } finally {
            client.release();
          }
        }
      }
      const expected = await tables(one);
      assert.deepEqual(await tables(many), expected, `batches of ${size}`);
      // The rows are those of the story above, not merely equal to each other.
      assert.equal(expected.contacts.length, 6);
      assert.deepEqual(expected.communications.map((c) => [c.communication_id, c.status, c.stage_name]), [
        ['c-2', 'PLANNED', 'Reminder'], ['c-4', 'STARTED', 'Later'],
      ]);
      assert.deepEqual(expected.starts.map((s) => [s.communication_id, s.identity, s.confirmed]), [
        ['c-0', 'e:a@example.com', true], ['c-1', 'e:b@example.com', true], ['c-1', 'p:+12025550101', true],
        ['c-3', 'e:d.new@example.com', true], ['c-3', 'p:+12025550199', true], ['c-4', 'e:e@example.com', true],
      ]);
      const a = expected.contacts.find((c) => c.stream_id === contactStreamId(CAMPAIGN, 'o:a'));
      assert.deepEqual([a.revision, a.last_end_revision], [7, 7]);
      assert.deepEqual(expected.campaigns.map((c) => [c.running, c.active_upload, c.communicated]), [[true, false, true]]);
    }
  });
});
