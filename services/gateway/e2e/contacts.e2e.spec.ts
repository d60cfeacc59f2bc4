import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, TEST_ADMIN_KEY } from '@herald/testing';
import { file, form, startEmbedded } from './harness';
import { api } from './walking-skeleton';

// Contact uploads, the contacts list with its filters, and Download contacts, through the gateway (issue 4).
const LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    seen = existing_contact.internal_data.get("seen", 0) if existing_contact else 0
    contact.internal_data["seen"] = seen + 1
    if contact.parameters.get("score"):
        contact.results["score"] = contact.parameters["score"]
    return contact
`;

describe('contacts: uploads, list filters and CSV download (embedded)', () => {
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let base: string;
  const call = (method: string, path: string, body?: unknown) => api(base, method, path, body);

  before(async () => {
    platform = await startEmbedded();
    base = platform.base;
  });
  after(async () => platform?.stop());

  async function campaignWith(code: string) {
    const c = (await call('POST', '/api/campaigns', { name: 'Contacts', description: 'upload tests' })).body;
    const s = await call('POST', `/api/campaigns/${c.id}/strategies`, form({ name: 'Load', description: 'd', type: 'DATA_LOAD', functionName: 'run', file: file('load.py', code) }));
    assert.equal(s.status, 201, JSON.stringify(s.body));
    return c.id as string;
  }

  async function upload(id: string, name: string, content: string | Buffer) {
    const r = await call('POST', `/api/campaigns/${id}/contacts/uploads`, form({ file: file(name, content) }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return eventually(async () => {
      const u = (await call('GET', `/api/campaigns/${id}/contacts/uploads/${r.body.id}`)).body;
      return u.state === 'completed' || u.state === 'failed' ? u : undefined;
    }, { what: `upload of ${name}` });
  }

  it('reads CSV with BOM, CRLF, quoted fields and any header case; reports rejected rows; repeated keys see the earlier row', async (t) => {
    try {
      const id = await campaignWith(LOAD);
      const csv = '\uFEFFObject_ID,NAME,Email,Phone,Score,Note\r\n'
        + 'K1,"Doe, John",john@example.com,,7,"said ""hi""\r\nthen left"\r\n'
        + 'K2,@Jane,,+49 30 1234567,,=HYPERLINK("http://evil")\r\n'
        + 'K3,NoContact,,,,\r\n'
        + 'K4,Bad Mail,not-an-email,,,\r\n'
        + 'K5,Bad Phone,,030 1234,,\r\n'
        + 'K1,"Doe, John",john.doe@example.com,,9,second row of K1\r\n';
      const report = await upload(id, 'contacts.csv', csv);
      assert.equal(report.state, 'completed', JSON.stringify(report));
      assert.equal(report.rejected, 3);
      assert.deepEqual(report.errors.map((e: { row: number; field: string }) => [e.row, e.field]), [[4, 'email'], [5, 'email'], [6, 'phone']]);
      assert.match(report.errors[0].message, /email or a phone/);
      const john = (await call('GET', `/api/campaigns/${id}/contacts/o:K1`)).body;
      assert.equal(john.name, 'Doe, John');
      assert.equal(john.email, 'john.doe@example.com', 'the second row updated the contact');
      assert.equal(john.internalData.seen, 2, 'the Data Load strategy saw the first row as existing_contact');
      assert.equal(john.parameters.note, 'second row of K1');
      assert.equal((await call('GET', `/api/campaigns/${id}/contacts/o:K2`)).body.phone, '+49301234567');

      // The list, its filters and paging.
      const all = await eventually(async () => {
        const r = (await call('GET', `/api/campaigns/${id}/contacts`)).body;
        const k1 = r.items?.find((c: { key: string }) => c.key === 'o:K1');
        return r.items?.length === 2 && k1?.email === 'john.doe@example.com' && k1?.results.score === '9' ? r : undefined;
      }, { what: 'the contact list' });
      assert.deepEqual(all.items[0].parameters.score, '9');
      assert.equal(all.items[0].results.score, '9');
      const byName = (await call('GET', `/api/campaigns/${id}/contacts?name=${encodeURIComponent('doe,')}`)).body;
      assert.deepEqual(byName.items.map((c: { key: string }) => c.key), ['o:K1']);
      assert.deepEqual((await call('GET', `/api/campaigns/${id}/contacts?phone=1234567`)).body.items.map((c: { key: string }) => c.key), ['o:K2']);
      assert.deepEqual((await call('GET', `/api/campaigns/${id}/contacts?outcome=POSITIVE`)).body.items, []);
      assert.equal((await call('GET', `/api/campaigns/${id}/contacts?outcome=GREAT`)).body.field, 'outcome');
      assert.equal((await call('GET', `/api/campaigns/${id}/contacts?createdFrom=yesterday`)).status, 400);
      assert.deepEqual((await call('GET', `/api/campaigns/${id}/contacts?createdFrom=2000-01-01&createdTo=2000-01-02`)).body.items, []);
      const first = (await call('GET', `/api/campaigns/${id}/contacts?limit=1`)).body;
      assert.equal(first.items.length, 1);
      const second = (await call('GET', `/api/campaigns/${id}/contacts?limit=1&after=${encodeURIComponent(first.next)}`)).body;
      assert.notEqual(second.items[0].key, first.items[0].key);
      assert.equal(second.next, null);

      // Download contacts: the filtered list as CSV, formulas neutralised.
      const res = await fetch(`${base}/api/campaigns/${id}/contacts/export.csv?phone=1234567`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition') ?? '', /attachment/);
      const text = await res.text();
      const lines = text.replace(/^\uFEFF/, '').trim().split('\n');
      assert.equal(lines.length, 2, text);
      assert.match(lines[0], /^Key,Name,Email,Phone,Current stage/);
      assert.match(lines[1], /,'\+49301234567,/, 'a leading + is neutralised');
      assert.match(lines[1], /^o:K2,'@Jane,/, 'a leading @ is neutralised');
    } catch (error) {
      t.diagnostic(platform.herald.output().slice(-3000));
      throw error;
    }
  });

  it('reads JSON arrays and JSON Lines, refuses UTF-16 with a reason, and keeps the rows before a broken line', async () => {
    const id = await campaignWith(LOAD);
    const json = await upload(id, 'contacts.json', JSON.stringify([{ OBJECT_ID: 'J1', email: 'j1@example.com', tier: { level: 2 } }, { object_id: 'J2', phone: '+12025550123' }]));
    assert.equal(json.imported, 2, JSON.stringify(json));
    assert.deepEqual((await call('GET', `/api/campaigns/${id}/contacts/o:J1`)).body.parameters.tier, { level: 2 }, 'JSON values keep their types');
    const utf16 = await upload(id, 'contacts.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('object_id,email\r\nU1,u1@example.com\r\n', 'utf16le')]));
    assert.equal(utf16.state, 'failed');
    assert.match(utf16.message, /UTF-16/);
    const jsonl = await upload(id, 'contacts.jsonl', '{"object_id":"L1","email":"l1@example.com"}\n{"object_id":"L2","email":"l2@example.com"}\n{"object_id": broken\n{"object_id":"L4","email":"l4@example.com"}\n');
    assert.equal(jsonl.imported, 3, JSON.stringify(jsonl));
    assert.deepEqual(jsonl.errors.map((e: { row: number }) => e.row), [3]);
    assert.match(jsonl.errors[0].message, /line 3 is not valid JSON/);
  });

  it('refuses a second upload while one is in progress with the seeds message, and takes it once the first is done', async () => {
    // The Data Load strategy takes its time on the first file's row: that upload holds the campaign's lock meanwhile.
    const id = await campaignWith('import time\n\ndef run(contact, existing_contact, logger, **kwargs):\n    time.sleep(float(contact.parameters.get("pause", "0")))\n    return contact\n');
    const first = await call('POST', `/api/campaigns/${id}/contacts/uploads`, form({ file: file('first.csv', 'object_id,email,pause\nS1,s1@example.com,3\n') }));
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const second = await call('POST', `/api/campaigns/${id}/contacts/uploads`, form({ file: file('second.csv', 'object_id,email\nS2,s2@example.com\n') }));
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.message, 'Another upload is still in progress, please try again in few minutes');
    assert.equal((await call('GET', `/api/campaigns/${id}/contacts/uploads/${first.body.id}`)).body.state === 'completed', false, 'the first was still running when the second was refused');
    await eventually(async () => ((await call('GET', `/api/campaigns/${id}/contacts/uploads/${first.body.id}`)).body.state === 'completed' ? true : undefined), { what: 'the first upload' });
    const retried = await upload(id, 'second.csv', 'object_id,email\nS2,s2@example.com\n');
    assert.equal(retried.imported, 1, JSON.stringify(retried));
    await eventually(async () => ((await call('GET', `/api/campaigns/${id}`)).body.contactCount === 2 ? true : undefined), { what: 'both contacts counted' });
  });

  it('adds and updates contacts when uploading to a RUNNING campaign', async () => {
    // Plans a communication a month ahead for a new contact (the campaign keeps running); a known one keeps its plan and gets the new data.
    const id = await campaignWith(`
def run(contact, existing_contact, logger, **kwargs):
    if existing_contact is None:
        contact.communications.append(Communication(name="Later", stage_name="1 Later", start_date=kwargs["now"] + timedelta(days=30)))
        contact.current_stage = "1 Later"
        contact.internal_data["seen"] = 1
        return contact
    existing_contact.email = contact.email
    existing_contact.parameters.update(contact.parameters)
    existing_contact.internal_data["seen"] = existing_contact.internal_data.get("seen", 0) + 1
    return existing_contact
`);
    assert.equal((await call('POST', `/api/campaigns/${id}/stages`, { name: '1 Later', description: 'wait', channel: 'no_communication' })).status, 201);
    assert.equal((await upload(id, 'first.csv', 'object_id,name,email,plan\nR1,Ann,ann@example.com,basic\nR2,Bob,bob@example.com,basic\n')).imported, 2);
    await eventually(async () => ((await call('GET', `/api/campaigns/${id}`)).body.status === 'CONFIGURED' ? true : undefined), { what: 'CONFIGURED' });
    const started = await call('POST', `/api/campaigns/${id}/start`);
    assert.equal(started.body.status, 'RUNNING', JSON.stringify(started.body));

    const report = await upload(id, 'second.csv', 'object_id,name,email,plan\nR2,Bob,bob.new@example.com,premium\nR3,Cy,cy@example.com,basic\n');
    assert.deepEqual([report.state, report.imported, report.rejected], ['completed', 2, 0], JSON.stringify(report));
    const campaign = await eventually(async () => {
      const c = (await call('GET', `/api/campaigns/${id}`)).body;
      return c.contactCount === 3 ? c : undefined;
    }, { what: 'the new contact counted' });
    assert.equal(campaign.status, 'RUNNING', 'still running');
    const bob = (await call('GET', `/api/campaigns/${id}/contacts/o:R2`)).body;
    assert.deepEqual([bob.email, bob.parameters.plan, bob.internalData.seen, bob.communications.length], ['bob.new@example.com', 'premium', 2, 1], 'updated, with the plan it had');
    const cy = (await call('GET', `/api/campaigns/${id}/contacts/o:R3`)).body;
    assert.deepEqual([cy.email, cy.currentStage, cy.communications.length], ['cy@example.com', '1 Later', 1], 'added, planned like the first file');
  });

  it('puts the campaign in ERROR when the Data Load strategy fails on every row, until a force stop', async () => {
    const id = await campaignWith('def run(contact, existing_contact, logger, **kwargs):\n    raise RuntimeError("database down")\n');
    const rows = ['object_id,email', ...Array.from({ length: 12 }, (_, i) => `E${i},e${i}@example.com`)].join('\n');
    const report = await upload(id, 'contacts.csv', rows);
    assert.equal(report.rejected, 12);
    const campaign = await eventually(async () => {
      const c = (await call('GET', `/api/campaigns/${id}`)).body;
      return c.status === 'ERROR' ? c : undefined;
    }, { what: 'status ERROR' });
    assert.match(campaign.statusMessage, /Data Load strategy failed on every row/);
    assert.match(campaign.statusMessage, /database down/);
    assert.equal((await call('POST', `/api/campaigns/${id}/start`)).status, 409);
    const stopped = await call('POST', `/api/campaigns/${id}/force-stop`);
    assert.notEqual(stopped.body.status, 'ERROR');
  });
});
