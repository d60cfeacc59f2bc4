import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// bin/herald as a campaign owner runs it: a real process, real files, the real sandboxed runtime.

const BIN = resolve(__dirname, '../../../../bin/herald');

// The seeds' examples, verbatim but for the indentation the document lost.
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
const SEED_AGGREGATION = `
async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    # Mark current communication as completed
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    # Check conversation outcome
    outcome = session_results.get("OutcomeStatus", "NO_RESPONSE")
    # Plan next action based on outcome
    if outcome == "NO_RESPONSE":
        # Schedule follow-up
        next_comm = Communication(
            name="Follow-up",
            stage_name="Second Attempt",
            start_date=datetime.now() + timedelta(days=1),
            # ... other settings
        )
        contact.communications.append(next_comm)
    return contact
`;
const SEED_INTERMEDIATE = `
async def on_agent_answer(contact: Contact, message: Message, **kwargs) -> Contact | None:
    # Update last interaction time
    contact.internal_data["last_message_time"] = datetime.now()
    # Check message content and update stage if needed
    if "promise to pay" in message.content.lower():
        contact.current_stage = "Payment Promised"
    return contact
`;

function herald(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('herald strategy test', () => {
  let dir: string;
  const file = (name: string, content: string) => writeFileSync(join(dir, name), content);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-cli-'));
    file('load.py', SEED_DATA_LOAD);
    file('aggregation.py', SEED_AGGREGATION);
    file('intermediate.py', SEED_INTERMEDIATE);
    file('row.json', JSON.stringify({ object_id: 'C-1001', name: 'John Doe', email: 'john@example.com', parameters: { amount_due: '250', due_date: '2026-07-01' } }));
    file('stored.json', JSON.stringify({
      object_id: 'C-1001', name: 'John Doe', email: 'john@example.com', current_stage: 'First Contact', parameters: { amount_due: '250' },
      communications: [{ id: 'c-1', name: 'Initial Message', stage_name: 'First Contact', start_date: '2026-01-01T10:00:00Z', status: 'COMPLETED', session_results: { OutcomeStatus: 'NO_RESPONSE' } }],
    }));
    file('message.json', JSON.stringify({ role: 'contact', content: 'OK, I promise to pay on Friday' }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('Data Load: prints the contact and the events an import would append', async () => {
    const r = await herald(['strategy', 'test', 'load.py', '--function', 'run', '--type', 'data-load', '--contact', 'row.json', '--stages', 'First Contact,Second Attempt', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.contact.current_stage, 'First Contact');
    assert.equal(out.contact.communications[0].name, 'Initial Message');
    assert.deepEqual(out.events.map((e: { type: string }) => e.type), ['ContactCreated', 'ContactStageChanged', 'CommunicationPlanned']);
    assert.deepEqual(out.events[1].data, { from: null, to: 'First Contact' });
  });

  it('Aggregation: flags the communication that ended and plans the follow-up; text output for people', async () => {
    const r = await herald(['strategy', 'test', 'aggregation.py', '--function', 'run', '--type', 'aggregation', '--contact', 'stored.json'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Resulting contact:\n\{\n {2}"object_id": "C-1001"/);
    assert.match(r.stdout, /Events it would append \(1\):\n {2}1\. CommunicationPlanned \{"communication":\{"id":"[0-9a-f-]{36}","name":"Follow-up","stageName":"Second Attempt"/);
    assert.match(r.stdout, /No --stages given: every stage name was accepted\./);
  });

  it('Intermediate analysis: a promise to pay moves the stage', async () => {
    const r = await herald(['strategy', 'test', 'intermediate.py', '--function', 'on_agent_answer', '--type', 'intermediate', '--contact', 'stored.json', '--message', 'message.json', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.events.map((e: { type: string }) => e.type), ['ContactStageChanged', 'ContactInternalDataChanged']);
    assert.deepEqual(out.events[0].data, { from: 'First Contact', to: 'Payment Promised' });
  });

  it('reports upload-time errors with line numbers, a failing strategy with its traceback, and refused stages', async () => {
    file('broken.py', 'import requests\n\ndef run(contact, existing_contact, logger, **kwargs):\n    if True\n        return contact\n');
    const syntax = await herald(['strategy', 'test', 'broken.py', '--function', 'run', '--type', 'data-load', '--contact', 'row.json'], dir);
    assert.equal(syntax.code, 2);
    assert.equal(syntax.stderr.trim(), "broken.py:4: SyntaxError: expected ':'");
    file('imports.py', 'import json\nimport requests\n\ndef go(contact, existing_contact, logger, **kwargs):\n    return contact\n');
    const upload = await herald(['strategy', 'test', 'imports.py', '--function', 'run', '--type', 'data-load', '--contact', 'row.json'], dir);
    assert.equal(upload.code, 2);
    assert.deepEqual(upload.stderr.trim().split('\n'), [
      "imports.py:2: import of 'requests' is not allowed: only the Python standard library and campaign_sdk are available",
      "imports.py: function 'run' is not defined; the file defines go (line 4)",
    ]);
    file('raises.py', 'def run(contact, existing_contact, logger, **kwargs):\n    logger.warning("about to fail")\n    return int(contact.parameters["due_date"])\n');
    const raised = await herald(['strategy', 'test', 'raises.py', '--function', 'run', '--type', 'data-load', '--contact', 'row.json'], dir);
    assert.equal(raised.code, 1);
    assert.match(raised.stdout, /WARNING about to fail/);
    assert.match(raised.stdout, /Error: ValueError: invalid literal for int\(\) with base 10: '2026-07-01'\nTraceback \(most recent call last\):\n {2}File "raises\.py", line 3, in run/);
    const stage = await herald(['strategy', 'test', 'load.py', '--function', 'run', '--type', 'data-load', '--contact', 'row.json', '--stages', 'Reminder', '--json'], dir);
    assert.equal(stage.code, 1);
    assert.equal(JSON.parse(stage.stdout).error, 'InvalidContact: current_stage: unknown stage "First Contact" (stages: Reminder)');
  });

  it('--existing: a Data Load re-upload sees the stored contact and appends only what changed, never ContactCreated', async () => {
    file('reupload.py', [
      'def run(contact, existing_contact, logger, **kwargs):',
      '    if existing_contact is None:',
      '        contact.current_stage = "First Contact"',
      '        return contact',
      '    logger.info("existing %s at %s with %d communications", existing_contact.object_id, existing_contact.current_stage, len(existing_contact.communications))',
      '    existing_contact.parameters.update(contact.parameters)',
      '    existing_contact.internal_data["reuploads"] = existing_contact.internal_data.get("reuploads", 0) + 1',
      '    return existing_contact',
      '',
    ].join('\n'));
    file('existing.json', JSON.stringify({
      object_id: 'C-1001', name: 'John Doe', email: 'john@example.com', current_stage: 'Second Attempt', parameters: { amount_due: '100' },
      internal_data: { reuploads: 2 },
      communications: [{ id: 'c-1', name: 'Initial Message', stage_name: 'First Contact', start_date: '2026-01-01T10:00:00Z', status: 'COMPLETED' }],
    }));
    const args = ['strategy', 'test', 'reupload.py', '--function', 'run', '--type', 'data-load', '--contact', 'row.json', '--json'];
    const r = await herald([...args, '--existing', 'existing.json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.logs.map((l: { message: string }) => l.message), ['existing C-1001 at Second Attempt with 1 communications']);
    assert.equal(out.contact.current_stage, 'Second Attempt', 'the stored contact came back, not the row');
    assert.deepEqual(out.contact.communications.map((c: { id: string }) => c.id), ['c-1']);
    assert.deepEqual(out.events.map((e: { type: string }) => e.type), ['ContactParametersChanged', 'ContactInternalDataChanged']);
    assert.deepEqual(out.events[0].data, { parameters: { amount_due: '250', due_date: '2026-07-01' } });
    assert.deepEqual(out.events[1].data, { internalData: { reuploads: 3 } });
    // Without --existing the same row is a new contact.
    const fresh = JSON.parse((await herald(args, dir)).stdout);
    assert.deepEqual(fresh.events.map((e: { type: string }) => e.type), ['ContactCreated', 'ContactStageChanged']);
    const missing = await herald([...args, '--existing', 'nowhere.json'], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim(), 'nowhere.json: no such file');
  });

  it('--session-results: an Aggregation run gets that file instead of the flagged communication\'s own results', async () => {
    file('echo-aggregation.py', [
      'def run(contact, session_results, logger, **kwargs):',
      '    contact.internal_data["flagged"] = [c.id for c in contact.communications if c.flagged]',
      '    contact.internal_data["session_results"] = session_results',
      '    if session_results.get("OutcomeStatus") == "SUCCESS":',
      '        contact.outcome = OutcomeStatus.SUCCESS',
      '    return contact',
      '',
    ].join('\n'));
    const results = { OutcomeStatus: 'SUCCESS', PromiseDate: '2026-07-03', details: { channel: 'voice', attempts: [1, 2] } };
    file('results.json', JSON.stringify(results));
    const base = ['strategy', 'test', 'echo-aggregation.py', '--function', 'run', '--type', 'aggregation', '--contact', 'stored.json', '--json'];
    const r = await herald([...base, '--session-results', 'results.json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.contact.internal_data, { flagged: ['c-1'], session_results: results });
    assert.deepEqual(out.events.map((e: { type: string }) => e.type), ['ContactOutcomeSet', 'ContactInternalDataChanged']);
    assert.deepEqual(out.events[0].data, { outcome: 'SUCCESS', previous: 'UNCERTAIN' });
    // Without it, the strategy sees the session results stored on the communication that ended.
    const own = JSON.parse((await herald(base, dir)).stdout);
    assert.deepEqual(own.contact.internal_data.session_results, { OutcomeStatus: 'NO_RESPONSE' });
    assert.equal(own.contact.outcome, 'UNCERTAIN');
    // The seed's Aggregation plans no follow-up once the results say SUCCESS.
    const seed = await herald(['strategy', 'test', 'aggregation.py', '--function', 'run', '--type', 'aggregation', '--contact', 'stored.json', '--session-results', 'results.json'], dir);
    assert.equal(seed.code, 0, seed.stderr);
    assert.match(seed.stdout, /Events it would append: none \(the contact is unchanged\)\./);
    file('list.json', '[1, 2]');
    const bad = await herald([...base, '--session-results', 'list.json'], dir);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), 'list.json: expected a JSON object (the session results)');
  });

  it('--message: an Intermediate analysis run gets the message as written, and None from an agent\'s message is no change', async () => {
    file('echo-intermediate.py', [
      'def on_agent_answer(contact, message, **kwargs):',
      '    if message.role != "contact":',
      '        return None',
      '    contact.internal_data["message"] = {',
      '        "role": message.role, "content": message.content, "created_at": message.created_at,',
      '        "session_id": message.session_id, "communication_id": message.communication_id,',
      '        "aware": message.created_at.tzinfo is not None,',
      '    }',
      '    return contact',
      '',
    ].join('\n'));
    file('full-message.json', JSON.stringify({ role: 'contact', content: 'Call me tomorrow', created_at: '2026-07-01T09:30:00', session_id: 's-7', communication_id: 'c-1' }));
    file('agent-message.json', JSON.stringify({ role: 'agent', content: 'Hello, this is Herald calling' }));
    const base = ['strategy', 'test', 'echo-intermediate.py', '--function', 'on_agent_answer', '--type', 'intermediate', '--contact', 'stored.json'];
    const r = await herald([...base, '--message', 'full-message.json', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.contact.internal_data.message, {
      role: 'contact', content: 'Call me tomorrow', created_at: '2026-07-01T09:30:00+00:00', session_id: 's-7', communication_id: 'c-1', aware: true,
    });
    assert.deepEqual(out.events.map((e: { type: string }) => e.type), ['ContactInternalDataChanged']);
    const agent = await herald([...base, '--message', 'agent-message.json'], dir);
    assert.equal(agent.code, 0, agent.stderr);
    assert.match(agent.stdout, /The strategy returned None: no change\./);
    const missing = await herald(base, dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim(), '--message is required for --type intermediate');
    file('robot-message.json', JSON.stringify({ role: 'robot', content: 'beep' }));
    const role = await herald([...base, '--message', 'robot-message.json'], dir);
    assert.equal(role.code, 2);
    assert.equal(role.stderr.trim(), 'robot-message.json.role: must be "agent" or "contact"');
  });

  it('names the file and field of bad input', async () => {
    file('bad-contact.json', JSON.stringify({ object_id: 'C-1', communications: [{ stage_name: 'First Contact', start_date: 'soon' }] }));
    const r = await herald(['strategy', 'test', 'load.py', '--function', 'run', '--type', 'data-load', '--contact', 'bad-contact.json'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'bad-contact.json.communications[0].start_date: "soon" is not an ISO-8601 date');
    const missing = await herald(['strategy', 'test', 'load.py', '--type', 'data-load', '--contact', 'row.json'], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^--function is required/);
  });
});
