import assert from 'node:assert/strict';
import { eventually, TEST_ADMIN_KEY } from '@herald/testing';

/** The walking skeleton, driven only through the gateway's REST API. Shared by both modes' tests. */

export const DATA_LOAD = `
async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    if existing_contact is not None:
        logger.info(f"updating {contact.object_id}")
    first_comm = Communication(
        name="Initial Message",
        stage_name="1 Payment reminder",
        start_date=datetime.now(timezone.utc),
        end_date=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    contact.communications.append(first_comm)
    contact.current_stage = "1 Payment reminder"
    contact.internal_data["amount"] = int(contact.parameters.get("amount_due", "0"))
    logger.info("planned the reminder")
    return contact
`;

export const AGGREGATION = `
async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    if session_results.get("delivered"):
        contact.outcome = OutcomeStatus.POSITIVE
        contact.current_stage = "2 Done"
        contact.results["ResultFlag"] = True
    return contact
`;

/** Calls the API as the test platform's admin (TEST_ADMIN_KEY) unless `as` names another API key, or null for no credentials. */
export async function api(base: string, method: string, path: string, body?: unknown, as: string | null = TEST_ADMIN_KEY): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined || body instanceof FormData ? {} : { 'content-type': 'application/json' }),
      ...(as ? { authorization: `Bearer ${as}` } : {}),
    },
    body: body === undefined ? undefined : body instanceof FormData ? body : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body: parsed };
}

function file(name: string, content: string, type = 'text/plain'): Blob & { name: string } {
  return Object.assign(new Blob([content], { type }), { name });
}

export async function runWalkingSkeleton(base: string, smtp: { port: number; received: { to: string[]; raw: string }[] }): Promise<void> {
  // Bad input: unknown routes and invalid bodies are 4xx naming the field.
  assert.equal((await api(base, 'GET', '/api/nothing-here')).status, 404);
  const bad = await api(base, 'POST', '/api/campaigns', { description: 'no name' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /^name:/);
  const noDescription = await api(base, 'POST', '/api/campaigns', { name: 'x' });
  assert.equal(noDescription.status, 400);
  assert.equal(noDescription.body.message, 'description: description should not be empty');
  const extra = await api(base, 'POST', '/api/campaigns', { name: 'x', description: 'y', colour: 'red' });
  assert.equal(extra.status, 400);
  assert.match(extra.body.message, /colour/);
  const malformed = await api(base, 'POST', '/api/campaigns', '{"name": ');
  assert.equal(malformed.status, 400);
  const openapi = await api(base, 'GET', '/openapi.json');
  assert.equal(openapi.status, 200);
  assert.ok(openapi.body.paths['/api/campaigns'], 'OpenAPI documents the campaigns endpoints');

  const integration = await api(base, 'POST', '/api/integrations', {
    name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'collections@herald.example' },
  });
  assert.equal(integration.status, 201, JSON.stringify(integration.body));

  const created = await api(base, 'POST', '/api/campaigns', { name: 'Pre-collection', description: 'Remind before the due date', labels: ['q3'] });
  assert.equal(created.status, 201);
  assert.equal(created.body.status, 'CREATED');
  const id = created.body.id as string;

  const badStage = await api(base, 'POST', `/api/campaigns/${id}/stages`, { name: 'x', description: 'y', channel: 'email_notification', settings: { integration: 'mail' } });
  assert.equal(badStage.status, 400);
  assert.match(badStage.body.message, /settings\.subject/);
  for (const stage of [
    { name: '1 Payment reminder', description: 'Email reminder', channel: 'email_notification', settings: {
      integration: 'mail', subject: 'Payment due, {{name}}', inputType: 'default', template: 'Hello {{name}}, {{parameters.amount_due}} is due on {{due_date}}.' } },
    { name: '2 Done', description: 'Terminal stage', channel: 'no_communication' },
  ]) {
    const r = await api(base, 'POST', `/api/campaigns/${id}/stages`, stage);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }

  const broken = new FormData();
  broken.set('name', 'Broken'); broken.set('description', 'syntax error'); broken.set('type', 'DATA_LOAD'); broken.set('functionName', 'run');
  broken.set('file', file('broken.py', 'def run(contact:\n    return contact\n'), 'broken.py');
  const brokenRes = await api(base, 'POST', `/api/campaigns/${id}/strategies`, broken);
  assert.equal(brokenRes.status, 400);
  assert.match(brokenRes.body.message, /line 1/);

  for (const [type, code] of [['DATA_LOAD', DATA_LOAD], ['AGGREGATION', AGGREGATION]] as const) {
    const form = new FormData();
    form.set('name', `${type} strategy`); form.set('description', 'walking skeleton'); form.set('type', type); form.set('functionName', 'run');
    form.set('file', file(`${type.toLowerCase()}.py`, code), `${type.toLowerCase()}.py`);
    const r = await api(base, 'POST', `/api/campaigns/${id}/strategies`, form);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const noContacts = await api(base, 'POST', `/api/campaigns/${id}/start`);
  assert.equal(noContacts.status, 409);
  assert.match(noContacts.body.message, /no contacts/);

  const csv = [
    'Object_id,External_ID,Name,Email,Phone,amount_due,due_date',
    'C-1001,U-501,John Doe,john@example.com,+12025550123,250,2026-07-01',
    'C-1002,U-502,"Smith, Jane",jane@example.com,+12025550124,480,2026-07-03',
    'C-1003,U-503,Nobody,,,10,2026-07-04',
  ].join('\r\n');
  const upload = new FormData();
  upload.set('file', file('contacts.csv', csv, 'text/csv'), 'contacts.csv');
  const accepted = await api(base, 'POST', `/api/campaigns/${id}/contacts/uploads`, upload);
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  const report = await eventually(async () => {
    const r = await api(base, 'GET', `/api/campaigns/${id}/contacts/uploads/${accepted.body.id}`);
    return r.body.state === 'completed' ? r.body : undefined;
  }, { what: 'the upload to complete', timeoutMs: 60_000 });
  assert.equal(report.imported, 2);
  assert.equal(report.rejected, 1);
  assert.deepEqual(report.errors.map((e: { row: number }) => e.row), [4]);
  assert.match(report.errors[0].message, /email or a phone/);

  const configured = await eventually(async () => {
    const r = await api(base, 'GET', `/api/campaigns/${id}`);
    return r.body.status === 'CONFIGURED' ? r.body : undefined;
  }, { what: 'status CONFIGURED' });
  assert.equal(configured.contactCount, 2);

  const started = await api(base, 'POST', `/api/campaigns/${id}/start`);
  assert.equal(started.status, 200, JSON.stringify(started.body));
  assert.equal(started.body.status, 'RUNNING');

  let seen: unknown;
  const contact = await eventually(async () => {
    const r = await api(base, 'GET', `/api/campaigns/${id}/contacts/${encodeURIComponent('o:C-1001')}`);
    seen = r.body;
    return r.status === 200 && r.body.outcome === 'POSITIVE' ? r.body : undefined;
  }, { what: 'the Aggregation strategy to set the outcome', timeoutMs: 90_000 }).catch((error: Error) => {
    throw new Error(`${error.message}; the contact: ${JSON.stringify(seen)}`);
  });
  assert.equal(contact.currentStage, '2 Done');
  assert.equal(contact.internalData.amount, 250);
  assert.equal(contact.results.ResultFlag, true);
  assert.ok(contact.results.ResultDatetime);
  assert.equal(contact.communications.length, 1);
  const [comm] = contact.communications;
  assert.equal(comm.status, 'COMPLETED');
  assert.equal(comm.sessionStatus, 'DELIVERED');
  assert.equal(comm.channel, 'email_notification');
  assert.ok(comm.startedAt >= comm.startDate, 'started inside its window');
  assert.ok(comm.finishedAt);

  const mails = await eventually(() => (smtp.received.length >= 2 ? smtp.received : undefined), { what: 'two emails' });
  const john = mails.find((m) => m.to.includes('john@example.com'));
  assert.ok(john, 'John got his email');
  assert.match(john!.raw, /Subject: Payment due, John Doe/);
  assert.match(john!.raw, /250 is due on 2026-07-01/);
  assert.equal(mails.filter((m) => m.to.includes('jane@example.com')).length, 1, 'each contact is sent once');

  const list = await eventually(async () => {
    const r = await api(base, 'GET', `/api/campaigns/${id}/contacts`);
    return r.body.items?.length === 2 && r.body.items.every((c: { outcome: string }) => c.outcome === 'POSITIVE') ? r.body : undefined;
  }, { what: 'the contact list read model' });
  assert.deepEqual(list.items.map((c: { name: string }) => c.name).sort(), ['John Doe', 'Smith, Jane']);
  assert.equal((await api(base, 'GET', `/api/campaigns/${id}/contacts/o:NOPE`)).status, 404);

  // The performance panel's numbers: the campaign-performance read model (over gRPC in the distributed mode).
  const performance = await eventually(async () => {
    const r = await api(base, 'GET', `/api/campaigns/${id}/performance?period=week`);
    return r.status === 200 && r.body.processedContacts === 2 ? r.body : undefined;
  }, { what: 'the campaign-performance read model' });
  assert.deepEqual([performance.totalContacts, performance.completionRate, performance.successRate, performance.periods.length], [2, 0, 0, 1]);
  assert.deepEqual(performance.stages, [{ stage: '2 Done', contacts: [2] }]);
  assert.deepEqual(performance.outcomes, [{ outcome: 'POSITIVE', contacts: [2] }]);
  assert.equal((await api(base, 'GET', `/api/campaigns/${id}/performance?period=hour`)).body.field, 'period');

  // Both communications have ended and Aggregation planned nothing more: the campaign is FINISHED
  // (the scheduler appends CampaignFinished) and leaves the Running tab.
  const listed = await eventually(async () => {
    const r = await api(base, 'GET', '/api/campaigns?search=collection');
    return r.body.length === 1 && r.body[0].status === 'FINISHED' ? r.body : undefined;
  }, { what: 'the campaign to finish, in the campaign list read model', timeoutMs: 30_000 });
  assert.equal(listed[0].id, id);
  assert.deepEqual((await api(base, 'GET', '/api/campaigns?filter=running&search=collection')).body, []);
}
