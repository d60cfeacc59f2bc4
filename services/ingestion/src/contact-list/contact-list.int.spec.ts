import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { DomainError, newEvent, type RecordedEvent } from '@herald/contracts';
import { CONTACT_LIST_SCHEMA, listContacts, projectContactList, projectContactListMany } from './contact-list';

const CAMPAIGN = '00000000-0000-4000-8000-0000000000c1';

describe('the contacts list (real PostgreSQL)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('herald_clist');
    await db.pool.query(CONTACT_LIST_SCHEMA);
    // Ten contacts: keys in the reverse of creation order, two pairs created in the same microsecond, and one
    // (o:k00) created on another day; a second campaign's contact in the same range.
    const at = ['2026-03-01T10:00:00.000001Z', '2026-03-01T10:00:00.000001Z', '2026-03-01T11:00:00Z', '2026-03-01T12:00:00.5Z', '2026-03-01T12:00:00.5Z',
      '2026-03-01T13:00:00Z', '2026-03-01T14:00:00Z', '2026-03-01T15:00:00Z', '2026-03-01T16:00:00.999999Z', '2026-02-01T00:00:00Z'];
    for (const [i, created] of at.entries()) {
      await db.pool.query(
        `insert into contact_list (campaign_id, contact_key, workspace_id, name, outcome, created_at) values ($1, $2, 'w1', $3, 'UNCERTAIN', $4)`,
        [CAMPAIGN, `o:k${String(9 - i).padStart(2, '0')}`, `Person ${i}`, created]);
    }
    await db.pool.query(`insert into contact_list (campaign_id, contact_key, workspace_id, outcome, created_at) values ('other', 'o:k05', 'w1', 'UNCERTAIN', '2026-03-01T12:00:00Z')`);
  });
  after(() => db?.drop());

  async function all(filter: Parameters<typeof listContacts>[3], pageSize: number): Promise<string[]> {
    const keys: string[] = [];
    let next: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await listContacts(db.pool, 'w1', CAMPAIGN, { ...filter, after: next, limit: pageSize });
      assert.ok(page.items.length <= pageSize);
      keys.push(...page.items.map((c) => c.key));
      if (!page.next) return keys;
      next = page.next;
    }
    throw new Error('the pages never ended');
  }

  it('pages a creation-date range in creation order, then key, each contact once (ties within a microsecond included)', async () => {
    const keys = await all({ createdFrom: '2026-03-01T00:00:00Z', createdTo: '2026-03-02T00:00:00Z' }, 2);
    assert.deepEqual(keys, ['o:k08', 'o:k09', 'o:k07', 'o:k05', 'o:k06', 'o:k04', 'o:k03', 'o:k02', 'o:k01']);
    assert.deepEqual(await all({ createdFrom: '2026-03-01T12:00:00.5Z' }, 1), ['o:k05', 'o:k06', 'o:k04', 'o:k03', 'o:k02', 'o:k01']);
    assert.deepEqual(await all({ createdTo: '2026-03-01T00:00:00Z' }, 3), ['o:k00']);
  });

  it('pages without a date filter in key order', async () => {
    assert.deepEqual(await all({}, 3), ['o:k00', 'o:k01', 'o:k02', 'o:k03', 'o:k04', 'o:k05', 'o:k06', 'o:k07', 'o:k08', 'o:k09']);
  });

  it('pages filters that match often (the ordered walk fills the page) and seldom (the filters\' own indexes), same rows either way', async () => {
    // 3,000 contacts of another campaign: keys in the reverse of creation order; every third one a Garcia;
    // outcome UNCERTAIN for the first 2,500 keys (more than a walk reads), then SUCCESS and NEGATIVE in turn.
    const C3 = '00000000-0000-4000-8000-0000000000c3';
    const n = 3000;
    await db.pool.query(
      `insert into contact_list (campaign_id, contact_key, workspace_id, name, outcome, created_at)
       select $1, 'o:n' || lpad(i::text, 4, '0'), 'w1', 'Person ' || i || case when i % 3 = 0 then ' Garcia' else '' end,
              case when i < 2500 then 'UNCERTAIN' when i % 2 = 1 then 'SUCCESS' else 'NEGATIVE' end, timestamptz '2026-05-01' - (i || ' seconds')::interval
         from generate_series(0, $2::int - 1) as i`, [C3, n]);
    const rows = Array.from({ length: n }, (_, i) => ({
      key: `o:n${String(i).padStart(4, '0')}`, garcia: i % 3 === 0, outcome: i < 2500 ? 'UNCERTAIN' : i % 2 === 1 ? 'SUCCESS' : 'NEGATIVE',
    }));
    const pages = async (filter: Parameters<typeof listContacts>[3], size: number) => {
      const keys: string[] = [];
      for (let next: string | undefined, i = 0; i < 1000; i++) {
        const page = await listContacts(db.pool, 'w1', C3, { ...filter, after: next, limit: size });
        keys.push(...page.items.map((c) => c.key));
        if (!page.next) return keys;
        next = page.next;
      }
      throw new Error('the pages never ended');
    };
    const byKey = (keep: (r: (typeof rows)[number]) => boolean) => rows.filter(keep).map((r) => r.key);
    const byCreation = (keep: (r: (typeof rows)[number]) => boolean) => byKey(keep).reverse();
    assert.deepEqual(await pages({ name: 'garcia' }, 50), byKey((r) => r.garcia));
    assert.deepEqual(await pages({ outcome: 'SUCCESS' }, 20), byKey((r) => r.outcome === 'SUCCESS'));
    assert.deepEqual(await pages({ outcome: 'SUCCESS', name: 'GARCIA' }, 7), byKey((r) => r.outcome === 'SUCCESS' && r.garcia));
    const range = { createdFrom: '2026-04-01T00:00:00Z', createdTo: '2026-05-02T00:00:00Z' };
    assert.deepEqual(await pages({ ...range, outcome: 'NEGATIVE' }, 30), byCreation((r) => r.outcome === 'NEGATIVE'));
    assert.deepEqual(await pages({ ...range, outcome: 'UNCERTAIN', name: 'garcia' }, 100), byCreation((r) => r.outcome === 'UNCERTAIN' && r.garcia));
    assert.deepEqual(await pages({ outcome: 'ERROR', name: 'garcia' }, 10), []);
  });

  it('refuses a cursor that is not one of this ordering, naming the field', async () => {
    await assert.rejects(listContacts(db.pool, 'w1', CAMPAIGN, { createdFrom: '2026-03-01', after: 'o:k03' }),
      (e: unknown) => e instanceof DomainError && e.field === 'after');
  });
});

describe('the contacts list projection in batches (real PostgreSQL)', () => {
  const C = '00000000-0000-4000-8000-0000000000c2';
  const revisions = new Map<string, number>();
  let position = 0;
  const at = (type: string, key: string, data: Record<string, unknown>): RecordedEvent => {
    const streamId = `contact-${C}-${key}`;
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    return { ...newEvent(type, data, { workspaceId: 'w1', correlationId: 'u1' }), streamId, revision, position: ++position } as unknown as RecordedEvent;
  };
  const created = (key: string, name: string) => at('ContactCreated', key, {
    campaignId: C, key, objectId: key.slice(2), externalId: null, name, email: `${key.slice(2)}@example.com`, phone: null, parameters: { amount: 1 }, uploadId: 'u1', row: 1,
  });

  it('leaves the rows projectContactList leaves, event by event', async () => {
    const one = await createTestDatabase('herald_clist_one');
    const many = await createTestDatabase('herald_clist_many');
    try {
      for (const db of [one, many]) await db.pool.query(CONTACT_LIST_SCHEMA);
      const earlier = [created('o:old', 'Old'), at('CommunicationPlanned', 'o:old', { communication: {} })];
      const batch = [
        created('o:a', 'Ann'),
        at('CommunicationPlanned', 'o:a', { communication: {} }),
        at('ContactStageChanged', 'o:a', { from: null, to: '1 Reminder' }),
        at('ContactOutcomeSet', 'o:old', { outcome: 'SUCCESS', previous: 'UNCERTAIN' }),
        created('o:b', 'Bob'),
        at('ContactDetailsChanged', 'o:b', { name: 'Robert', phone: '+15550100', objectId: 'b' }),
        at('ContactParametersChanged', 'o:b', { parameters: { amount: 2, nested: { a: [1, 'x'] } } }),
        at('ContactResultsChanged', 'o:b', { results: { ResultFlag: 'yes' } }),
        at('CommunicationPlanned', 'o:b', { communication: {} }),
        at('CommunicationPlanned', 'o:b', { communication: {} }),
        at('ContactOutcomeSet', 'o:b', { outcome: 'NEGATIVE', previous: 'UNCERTAIN' }),
        at('ContactInternalDataChanged', 'o:b', { internalData: { x: 1 } }),
        // Created again (an earlier delivery's row exists): its changes still apply, one by one.
        { ...earlier[0], revision: 0 },
        at('ContactStageChanged', 'o:old', { from: null, to: '2 Call' }),
      ].map((event) => ({ event, topic: 'contact.events' }));
      for (const db of [one, many]) {
        const client = await db.pool.connect();
        try {
          for (const e of earlier) await projectContactList(e, 'contact.events', client);
          if (db === one) for (const { event, topic } of batch) await projectContactList(event, topic, client);
          else await projectContactListMany(batch, client);
        } finally {
          client.release();
        }
      }
      const rows = (db: TestDatabase) => db.pool.query('select * from contact_list order by contact_key').then((r) => r.rows);
      const expected = await rows(one);
      assert.equal(expected.length, 3);
      assert.deepEqual(expected.find((r) => r.contact_key === 'o:b'), {
        ...expected.find((r) => r.contact_key === 'o:b'), name: 'Robert', phone: '+15550100', communications: 2, outcome: 'NEGATIVE',
        parameters: { amount: 2, nested: { a: [1, 'x'] } }, results: { ResultFlag: 'yes' },
      });
      assert.deepEqual(await rows(many), expected);
    } finally {
      await one.drop();
      await many.drop();
    }
  });
});
