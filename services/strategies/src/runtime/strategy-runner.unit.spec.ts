import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { CommunicationState } from '@herald/contracts';
import { registry } from '@herald/observability';
import { StrategyRunner, type CampaignInfo, type ContactSnapshot, type StrategyCode, type StrategyHook, type StrategyInput, type StrategyOutcome } from './strategy-runner';

// Spawns real Python workers: the runtime is only meaningful against CPython.

const campaign: CampaignInfo = {
  id: 'camp-1',
  name: 'Collections',
  stages: ['First Contact', 'Second Attempt', 'Payment Promised'],
  resultCodes: ['PaymentDate'],
  settings: { window_hours: 4 },
};
const now = new Date('2026-01-02T09:00:00.000Z');
const ctx = { campaign, now };

function communication(over: Partial<CommunicationState> & { id: string }): CommunicationState {
  return {
    name: 'Initial Message', stageName: 'First Contact', startDate: '2026-01-01T10:00:00.000Z', endDate: null, status: 'PLANNED',
    sessionStatus: null, result: null, channel: null, agent: null, variant: null, startedAt: null, finishedAt: null, sessionId: null,
    sessionResults: null, ...over,
  };
}

function contact(over: Partial<ContactSnapshot> = {}): ContactSnapshot {
  return {
    objectId: 'CONTRACT-123', externalId: 'USER-456', name: 'John Smith', email: 'john@example.com', phone: '+1234567890',
    parameters: { amount_due: '250' }, currentStage: null, outcome: 'UNCERTAIN', results: { ResultFlag: null, ResultDatetime: null },
    internalData: {}, communications: [], createdAt: '2026-01-01T08:00:00.000Z', ...over,
  };
}

const strategy = (key: string, code: string, functionName = 'run'): StrategyCode => ({ key, code, functionName });
const ok = (o: StrategyOutcome) => {
  if (!o.ok) assert.fail(`strategy failed: ${o.error}\n${o.traceback}`);
  return o;
};
const failed = (o: StrategyOutcome) => {
  if (o.ok) assert.fail('strategy was expected to fail');
  return o;
};
const near = (iso: string, expected: number, slackMs = 60_000) => {
  assert.match(iso, /\+00:00$/);
  assert.ok(Math.abs(Date.parse(iso) - expected) < slackMs, `${iso} is not near ${new Date(expected).toISOString()}`);
};

// The seed examples, verbatim but for the indentation the document lost.
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

describe('StrategyRunner', () => {
  let runner: StrategyRunner;
  const run = (code: StrategyCode, hook: StrategyHook, inputs: StrategyInput[], timeoutMs?: number) =>
    runner.run(code, hook, inputs, ctx, timeoutMs ? { timeoutMs } : {});

  before(() => {
    process.env.HERALD_TEST_SECRET = 'do-not-leak';
    runner = new StrategyRunner({ workers: 2 });
  });
  after(() => runner.close());

  describe('seed examples', () => {
    it('Data Load plans "Initial Message" an hour from now and sets the stage', async () => {
      const t0 = Date.now();
      const [fresh, dup] = await run(strategy('seed-load:1', SEED_DATA_LOAD), 'data-load', [
        { contact: contact() },
        { contact: contact(), existing: contact({ currentStage: 'Second Attempt' }) },
      ]);
      for (const o of [fresh, dup]) {
        const c = ok(o).contact!;
        assert.equal(c.currentStage, 'First Contact');
        assert.equal(c.communications.length, 1);
        const [comm] = c.communications;
        assert.equal(comm.id, null);
        assert.equal(comm.name, 'Initial Message');
        assert.equal(comm.stageName, 'First Contact');
        assert.equal(comm.status, 'PLANNED');
        assert.equal(comm.endDate, null);
        near(comm.startDate, t0 + 3600_000);
        assert.deepEqual(c.parameters, { amount_due: '250' });
        assert.equal(c.outcome, 'UNCERTAIN');
      }
    });

    it('Aggregation completes the flagged communication and plans a follow-up on NO_RESPONSE', async () => {
      const comms = [communication({ id: 'c-1', status: 'COMPLETED' }), communication({ id: 'c-2', status: 'STARTED', name: 'Reminder' })];
      const t0 = Date.now();
      const [noResponse, success] = await run(strategy('seed-agg:1', SEED_AGGREGATION), 'aggregation', [
        { contact: contact({ communications: comms }), sessionResults: null, flaggedCommunicationId: 'c-2' },
        { contact: contact({ communications: comms }), sessionResults: { OutcomeStatus: 'SUCCESS' }, flaggedCommunicationId: 'c-2' },
      ]);
      const a = ok(noResponse).contact!;
      assert.deepEqual(a.communications.map((c) => [c.id, c.status]), [['c-1', 'COMPLETED'], ['c-2', 'COMPLETED'], [null, 'PLANNED']]);
      assert.equal(a.communications[2].name, 'Follow-up');
      assert.equal(a.communications[2].stageName, 'Second Attempt');
      near(a.communications[2].startDate, t0 + 86_400_000);
      const b = ok(success).contact!;
      assert.deepEqual(b.communications.map((c) => [c.id, c.status]), [['c-1', 'COMPLETED'], ['c-2', 'COMPLETED']]);
    });

    it('Intermediate analysis records the message time and moves a promise to pay', async () => {
      const message = (content: string) => ({ role: 'contact' as const, content, createdAt: '2026-01-02T08:59:00Z', sessionId: 's-1', communicationId: 'c-1' });
      const t0 = Date.now();
      const [promise, other] = await run(strategy('seed-int:1', SEED_INTERMEDIATE, 'on_agent_answer'), 'intermediate', [
        { contact: contact({ currentStage: 'First Contact' }), message: message('OK, I Promise to pay on Friday') },
        { contact: contact({ currentStage: 'First Contact' }), message: message('Who is this?') },
      ]);
      const p = ok(promise).contact!;
      assert.equal(p.currentStage, 'Payment Promised');
      near(p.internalData.last_message_time as string, t0);
      const o = ok(other).contact!;
      assert.equal(o.currentStage, 'First Contact');
      assert.equal(typeof o.internalData.last_message_time, 'string');
    });
  });

  describe('calling conventions', () => {
    it('runs a plain def that declares neither logger nor **kwargs', async () => {
      const code = `
def run(contact, existing_contact):
    contact.parameters["seen_existing"] = existing_contact is not None
    return contact
`;
      const [o] = await run(strategy('sync:1', code), 'data-load', [{ contact: contact(), existing: contact() }]);
      assert.equal(ok(o).contact!.parameters.seen_existing, true);
    });

    it('passes campaign (attributes and items), an aware now, and logger where the signature lacks it', async () => {
      const code = `
from campaign_sdk import Contact as SdkContact

def on_agent_answer(contact, message, campaign, now, logger):
    assert isinstance(contact, SdkContact) and isinstance(message, Message)
    assert message.created_at.tzinfo is not None and contact.created_at.tzinfo is not None
    logger.info("campaign %s has %d stages", campaign.name, len(campaign["stages"]))
    contact.internal_data.update(stages=campaign.stages, codes=campaign.result_codes, window=campaign.settings["window_hours"],
                                 now=now, role=message.role, utc=now.utcoffset() == timedelta(0))
    return contact
`;
      const [o] = await run(strategy('kw:1', code, 'on_agent_answer'), 'intermediate', [
        { contact: contact(), message: { role: 'agent', content: 'hi', createdAt: '2026-01-02T08:00:00Z', sessionId: null, communicationId: null } },
      ]);
      const r = ok(o);
      assert.deepEqual(r.contact!.internalData, {
        stages: campaign.stages, codes: campaign.resultCodes, window: 4, now: '2026-01-02T09:00:00+00:00', role: 'agent', utc: true,
      });
      assert.deepEqual(r.logs, [{ level: 'INFO', message: 'campaign Collections has 3 stages' }]);
    });

    it('lets an intermediate strategy return None for "no change"', async () => {
      const code = 'def on_agent_answer(contact, message, **kwargs):\n    return None\n';
      const [o] = await run(strategy('none:1', code, 'on_agent_answer'), 'intermediate', [{ contact: contact(), message: null }]);
      assert.equal(ok(o).contact, null);
    });

    it('rejects None and non-contacts where a Contact is expected', async () => {
      const code = 'def run(contact, session_results, logger, **kwargs):\n    return session_results.get("give")\n';
      const [none, dict] = await run(strategy('ret:1', code), 'aggregation', [
        { contact: contact(), sessionResults: {} },
        { contact: contact(), sessionResults: { give: { a: 1 } } },
      ]);
      assert.equal(failed(none).error, 'TypeError: strategy returned None, expected Contact');
      assert.equal(failed(dict).error, 'TypeError: strategy returned dict, expected Contact');
    });

    it('counts calls and failures in the Prometheus metrics (duration by hook, failures by reason)', async () => {
      const value = async (name: string, labels: Record<string, string>) => {
        const metric = (await registry.getMetricsAsJSON()).find((m) => name.startsWith(m.name));
        return metric?.values.filter((v) => ((v as { metricName?: string }).metricName ?? metric.name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l))
          .reduce((n, v) => n + v.value, 0) ?? 0;
      };
      const before = { invalid: await value('herald_strategy_failures_total', { type: 'aggregation', reason: 'invalid_result' }), exception: await value('herald_strategy_failures_total', { type: 'aggregation', reason: 'exception' }), calls: await value('herald_strategy_duration_seconds_count', { type: 'aggregation' }) };
      const code = 'def run(contact, session_results, logger, **kwargs):\n    if session_results.get("raise"):\n        raise ValueError("no")\n    return session_results.get("give")\n';
      await run(strategy('metrics:1', code), 'aggregation', [{ contact: contact(), sessionResults: {} }, { contact: contact(), sessionResults: { raise: true } }]);
      assert.equal(await value('herald_strategy_failures_total', { type: 'aggregation', reason: 'invalid_result' }), before.invalid + 1);
      assert.equal(await value('herald_strategy_failures_total', { type: 'aggregation', reason: 'exception' }), before.exception + 1);
      assert.equal(await value('herald_strategy_duration_seconds_count', { type: 'aggregation' }), before.calls + 1, 'one observation per run() call');
    });

    it('normalises outcome strings and enum comparisons', async () => {
      const code = `
def run(contact, session_results, logger, **kwargs):
    contact.outcome = session_results["outcome"]
    assert contact.outcome == OutcomeStatus.POSITIVE and contact.outcome == "POSITIVE"
    comm = contact.communications[0]
    assert comm.status == "STARTED" and comm.status.status == CommunicationStatus.STARTED
    comm.status = CommunicationStatus.INTERRUPTED
    comm.status.session_status = "hung_up"
    return contact
`;
      const [good, bad] = await run(strategy('enum:1', code), 'aggregation', [
        { contact: contact({ communications: [communication({ id: 'c-1', status: 'STARTED' })] }), sessionResults: { outcome: 'positive' } },
        { contact: contact({ communications: [communication({ id: 'c-1', status: 'STARTED' })] }), sessionResults: { outcome: 'MAYBE' } },
      ]);
      const c = ok(good).contact!;
      assert.equal(c.outcome, 'POSITIVE');
      assert.equal(c.communications[0].status, 'INTERRUPTED');
      assert.equal(c.communications[0].sessionStatus, 'hung_up');
      assert.match(failed(bad).error, /^ValueError: outcome must be one of SUCCESS, POSITIVE, UNCERTAIN, NEGATIVE, ERROR/);
    });
  });

  describe('failures stay inside their call', () => {
    it('reports an exception with the strategy line in its traceback; the other calls succeed', async () => {
      const code = `
def run(contact, existing_contact, logger, **kwargs):
    if contact.parameters.get("amount_due") == "bad":
        raise ValueError("amount_due is not a number")
    return contact
`;
      const [a, b, c] = await run(strategy('raise:1', code), 'data-load', [
        { contact: contact() },
        { contact: contact({ parameters: { amount_due: 'bad' } }) },
        { contact: contact() },
      ]);
      ok(a);
      ok(c);
      const e = failed(b);
      assert.equal(e.error, 'ValueError: amount_due is not a number');
      assert.match(e.traceback, /File "strategy\.py", line 4, in run/);
      assert.doesNotMatch(e.traceback, /runner\.py/);
    });

    it('survives SystemExit and KeyboardInterrupt raised by a strategy', async () => {
      const code = `
import sys
def run(contact, existing_contact, logger, **kwargs):
    if contact.name == "exit":
        sys.exit(3)
    if contact.name == "interrupt":
        raise KeyboardInterrupt()
    return contact
`;
      const out = await run(strategy('exit:1', code), 'data-load', [{ contact: contact({ name: 'exit' }) }, { contact: contact({ name: 'interrupt' }) }, { contact: contact() }]);
      assert.equal(failed(out[0]).error, 'SystemExit: 3');
      assert.equal(failed(out[1]).error, 'KeyboardInterrupt');
      ok(out[2]);
    });

    it('captures print(), stderr, logger output and logger.exception per call without breaking the protocol', async () => {
      const code = `
import os, sys
def run(contact, existing_contact, logger, **kwargs):
    print("hello", contact.name)
    print('{"id": "r1", "results": []}')
    print("no newline", end="")
    sys.stderr.write("to stderr\\n")
    os.write(1, b'{"id":"forged"}\\n')
    logger.warning("careful %s", 42)
    try:
        1 / 0
    except ZeroDivisionError:
        logger.exception("division failed")
    return contact
`;
      const [o] = await run(strategy('print:1', code), 'data-load', [{ contact: contact() }]);
      const { logs } = ok(o);
      assert.deepEqual(logs.slice(0, 5), [
        { level: 'INFO', message: 'hello John Smith' },
        { level: 'INFO', message: '{"id": "r1", "results": []}' },
        { level: 'WARNING', message: 'to stderr' },
        { level: 'WARNING', message: 'careful 42' },
        logs[4],
      ]);
      assert.equal(logs[4].level, 'ERROR');
      assert.match(logs[4].message, /^division failed\nTraceback[\s\S]*File "strategy\.py", line 11[\s\S]*ZeroDivisionError/);
      assert.deepEqual(logs[5], { level: 'INFO', message: 'no newline' });
    });

    it('caps a call\'s log at 200 lines', async () => {
      const code = 'def run(contact, existing_contact, logger, **kwargs):\n    for i in range(1000):\n        print(i)\n    return contact\n';
      const [o] = await run(strategy('flood:1', code), 'data-load', [{ contact: contact() }]);
      const { logs } = ok(o);
      assert.equal(logs.length, 201);
      assert.deepEqual(logs[200], { level: 'WARNING', message: '[log truncated]' });
    });

    it('turns a MemoryError into a failed call and keeps the worker', async () => {
      const code = 'def run(contact, existing_contact, logger, **kwargs):\n    if contact.name == "hog":\n        blob = bytearray(4 * 1024 ** 3)\n    return contact\n';
      const out = await run(strategy('mem:1', code), 'data-load', [{ contact: contact({ name: 'hog' }) }, { contact: contact() }]);
      assert.equal(failed(out[0]).error, 'MemoryError');
      ok(out[1]);
    });

    it('turns os._exit into a failed call; a worker that crashes fails its call and is replaced', async () => {
      const exits = 'import os\ndef run(contact, existing_contact, logger, **kwargs):\n    os._exit(7)\n';
      const [exited, fine] = await run(strategy('exit:2', exits), 'data-load', [{ contact: contact() }, { contact: contact() }]);
      assert.equal(failed(exited).error, 'SystemExit: 7');
      assert.equal(failed(fine).error, 'SystemExit: 7');
      const code = 'import faulthandler\ndef run(contact, existing_contact, logger, **kwargs):\n    faulthandler._read_null()\n';
      const [o] = await run(strategy('die:1', code), 'data-load', [{ contact: contact() }]);
      assert.match(failed(o).error, /^StrategyWorkerError: the strategy worker (was killed by SIGSEGV|exited with code)/);
      const [again] = await run(strategy('seed-load:1', SEED_DATA_LOAD), 'data-load', [{ contact: contact() }]);
      ok(again);
    });

    it('gives strategies a minimal environment, not the platform\'s', async () => {
      const code = 'import os\ndef run(contact, existing_contact, logger, **kwargs):\n    contact.internal_data["env"] = sorted(os.environ)\n    return contact\n';
      const [o] = await run(strategy('env:1', code), 'data-load', [{ contact: contact() }]);
      const env = ok(o).contact!.internalData.env as string[];
      assert.ok(!env.includes('HERALD_TEST_SECRET'));
      assert.ok(env.includes('TZ'));
    });
  });

  describe('data conversion', () => {
    it('round-trips times: aware in, UTC with offset out, naive means UTC', async () => {
      const code = `
def run(contact, session_results, logger, **kwargs):
    first = contact.communications[0]
    assert first.start_date.tzinfo is not None and first.start_date.hour == 12
    assert first.start_date == datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
    contact.communications.append(Communication(name="Call", stage_name="Second Attempt",
                                                start_date=datetime(2026, 1, 1, 10, 0), end_date=datetime(2026, 1, 1, 12, 0)))
    contact.internal_data["local"] = datetime(2026, 1, 1, 15, 30, tzinfo=timezone(timedelta(hours=5)))
    contact.internal_data["day"] = datetime(2026, 3, 4).date()
    contact.internal_data["pair"] = (1, OutcomeStatus.SUCCESS)
    return contact
`;
      const comms = [communication({ id: 'c-1', startDate: '2026-01-01T12:00:00+02:00', endDate: '2026-01-01T14:00:00Z', startedAt: '2026-01-01T10:05:00.250Z' })];
      const [o] = await run(strategy('tz:1', code), 'aggregation', [{ contact: contact({ communications: comms }), flaggedCommunicationId: 'c-1' }]);
      const c = ok(o).contact!;
      assert.equal(c.communications[0].startDate, '2026-01-01T10:00:00+00:00');
      assert.equal(c.communications[0].endDate, '2026-01-01T14:00:00+00:00');
      assert.equal(c.communications[0].startedAt, '2026-01-01T10:05:00.250Z', 'platform-owned fields come from the platform, untouched');
      assert.equal(c.communications[1].startDate, '2026-01-01T10:00:00+00:00');
      assert.equal(c.communications[1].endDate, '2026-01-01T12:00:00+00:00');
      assert.deepEqual(c.internalData, { local: '2026-01-01T10:30:00+00:00', day: '2026-03-04', pair: [1, 'SUCCESS'] });
    });

    it('knows the IANA time zones: a local 09:00 in Berlin is planned as 08:00 UTC in winter, 07:00 in summer', async () => {
      const code = `
from zoneinfo import ZoneInfo
def run(contact, existing_contact, logger, **kwargs):
    berlin = ZoneInfo("Europe/Berlin")
    for day in (datetime(2026, 1, 15, 9, 0, tzinfo=berlin), datetime(2026, 7, 15, 9, 0, tzinfo=berlin)):
        contact.communications.append(Communication(name="Call", stage_name="Second Attempt", start_date=day))
    return contact
`;
      const [o] = await run(strategy('tz-berlin:1', code), 'data-load', [{ contact: contact() }]);
      assert.deepEqual(ok(o).contact!.communications.map((c) => c.startDate), ['2026-01-15T08:00:00+00:00', '2026-07-15T07:00:00+00:00']);
    });

    it('gives datetimes stored in internal_data back as datetimes, and nested JSON as it was', async () => {
      const code = `
def run(contact, session_results, logger, **kwargs):
    seen = contact.internal_data["seen"]
    assert isinstance(seen, datetime) and seen.tzinfo is not None, repr(seen)
    assert isinstance(contact.internal_data["note"], str)
    assert isinstance(contact.parameters["due"], str), "parameters stay as imported"
    contact.internal_data["gap_hours"] = (datetime(2026, 1, 2, 12, tzinfo=timezone.utc) - seen) / timedelta(hours=1)
    contact.internal_data["nested"]["list"].append({"deep": [None, True, 1.5]})
    return contact
`;
      const internalData = { seen: '2026-01-02T09:00:00+00:00', note: 'called back 2026-01-01', nested: { list: [1, 'two'] } };
      const [o] = await run(strategy('revive:1', code), 'aggregation', [{ contact: contact({ internalData, parameters: { due: '2026-01-02T09:00:00+00:00' } }) }]);
      assert.deepEqual(ok(o).contact!.internalData, { ...internalData, gap_hours: 3, nested: { list: [1, 'two', { deep: [null, true, 1.5] }] } });
    });

    it('fails a call whose data is not JSON-serialisable, naming the path', async () => {
      const code = `
def run(contact, existing_contact, logger, **kwargs):
    contact.internal_data["foo"] = {1, 2}
    return contact
`;
      const [o] = await run(strategy('set:1', code), 'data-load', [{ contact: contact() }]);
      assert.match(failed(o).error, /internal_data\.foo: object of type set is not JSON serialisable/);
    });

    it('rejects attributes that do not exist, so typos do not vanish', async () => {
      const code = 'def run(contact, existing_contact, logger, **kwargs):\n    contact.curent_stage = "First Contact"\n    return contact\n';
      const [o] = await run(strategy('typo:1', code), 'data-load', [{ contact: contact() }]);
      assert.match(failed(o).error, /^AttributeError: .*curent_stage/);
    });
  });

  describe('validate', () => {
    it('reports a syntax error with its line', async () => {
      const r = await runner.validate('def run(contact, existing_contact, logger, **kwargs):\n    return contact\n\nif True\n    pass\n', 'run');
      assert.equal(r.ok, false);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].line, 4);
      assert.match(r.errors[0].message, /^SyntaxError/);
    });

    it('reports a missing entry point', async () => {
      const r = await runner.validate('def run(contact, message, **kwargs):\n    return contact\n', 'on_agent_answer');
      assert.deepEqual(r, { ok: false, errors: [{ line: null, message: "function 'on_agent_answer' is not defined; the file defines run (line 1)" }] });
      const typo = await runner.validate('\n\nasync def on_agent_answr(contact, message, **kwargs):\n    return contact\n', 'on_agent_answer');
      assert.deepEqual(typo.errors, [{ line: 3, message: "function 'on_agent_answer' is not defined; the file defines on_agent_answr (line 3)" }]);
      const notFn = await runner.validate('run = 3\n', 'run');
      assert.deepEqual(notFn.errors, [{ line: 1, message: "'run' is not a function (defined at line 1)" }]);
    });

    it('reports imports outside the standard library with their line, and accepts the seeds', async () => {
      const r = await runner.validate('import json\nfrom campaign_sdk import Contact\nimport requests\n\ndef run(contact, e, logger, **kw):\n    return contact\n', 'run');
      assert.equal(r.ok, false);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].line, 3);
      assert.match(r.errors[0].message, /'requests'/);
      for (const [code, fn] of [[SEED_DATA_LOAD, 'run'], [SEED_AGGREGATION, 'run'], [SEED_INTERMEDIATE, 'on_agent_answer']]) {
        assert.deepEqual(await runner.validate(code, fn), { ok: true, errors: [] });
      }
    });
  });

  describe('time limits and batching', () => {
    it('interrupts an endless loop after the call budget; the rest of the batch and the pool carry on', async () => {
      const code = 'def run(contact, existing_contact, logger, **kwargs):\n    while contact.name == "loop":\n        pass\n    return contact\n';
      const [looped, fine] = await run(strategy('loop:1', code), 'data-load', [{ contact: contact({ name: 'loop' }) }, { contact: contact() }], 300);
      const e = failed(looped);
      assert.equal(e.error, 'TimeoutError: strategy exceeded 300 ms');
      assert.match(e.traceback, /File "strategy\.py", line [23], in run/);
      ok(fine);
    });

    it('kills a worker whose loop swallows the interruption; other requests and later calls still work', async () => {
      const code = `
import time
def run(contact, existing_contact, logger, **kwargs):
    while True:
        try:
            time.sleep(1)
        except BaseException:
            pass
`;
      const [stuck, meanwhile] = await Promise.all([
        run(strategy('stuck:1', code), 'data-load', [{ contact: contact() }, { contact: contact() }], 300),
        run(strategy('seed-load:1', SEED_DATA_LOAD), 'data-load', [{ contact: contact() }]),
      ]);
      for (const o of stuck) assert.equal(failed(o).error, 'TimeoutError: strategy exceeded 300 ms');
      ok(meanwhile[0]);
      const after = await run(strategy('seed-load:1', SEED_DATA_LOAD), 'data-load', [{ contact: contact() }, { contact: contact() }, { contact: contact() }]);
      after.forEach(ok);
    });

    it('returns 2,000 results in input order', async () => {
      const code = `
def run(contact, existing_contact, logger, **kwargs):
    contact.internal_data["n"] = int(contact.object_id) * 2
    return contact
`;
      const inputs = Array.from({ length: 2000 }, (_, i) => ({ contact: contact({ objectId: String(i) }) }));
      const out = await run(strategy('batch:1', code), 'data-load', inputs);
      assert.equal(out.length, 2000);
      out.forEach((o, i) => {
        const c = ok(o).contact!;
        assert.equal(c.objectId, String(i));
        assert.equal(c.internalData.n, i * 2);
      });
    });
  });
});

describe('runner.py protocol', () => {
  it('answers bad lines with an error (keeping the id when it can) and keeps serving', () => {
    const input = ['not json', '{"id": "half", "op": ', '[1, 2]', '{"op": "nope", "id": "u"}', '{"op": "run", "id": "r", "calls": 3}', '{"op": "ping", "id": "p"}', ''].join('\n');
    const r = spawnSync('python3', ['-I', '-u', 'runner.py'], { cwd: resolve(__dirname, '../../python'), input, encoding: 'utf8', env: { PATH: process.env.PATH, TZ: 'UTC' } });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].ready, true);
    assert.deepEqual(lines.slice(1).map((l) => [l.id, typeof l.error === 'string' ? l.error.split(':')[0] : l.ok]), [
      [null, 'InvalidRequest'], ['half', 'InvalidRequest'], [null, 'InvalidRequest'], ['u', 'InvalidRequest'], ['r', 'InvalidRequest'], ['p', true],
    ]);
  });
});

describe('StrategyRunner lifecycle', () => {
  it('compiles a strategy once per key and worker', async () => {
    const runner = new StrategyRunner({ workers: 1 });
    try {
      const code = 'calls = 0\ndef run(contact, existing_contact, logger, **kwargs):\n    global calls\n    calls += 1\n    contact.internal_data["calls"] = calls\n    return contact\n';
      const first = await runner.run(strategy('once:1', code), 'data-load', [{ contact: contact() }], ctx);
      const second = await runner.run(strategy('once:1', code), 'data-load', [{ contact: contact() }], ctx);
      assert.equal(ok(first[0]).contact!.internalData.calls, 1);
      assert.equal(ok(second[0]).contact!.internalData.calls, 2);
    } finally {
      await runner.close();
    }
  });

  it('a worker that crashes mid-batch takes only its call; the request queued behind it runs on the replacement', async () => {
    const runner = new StrategyRunner({ workers: 1, onSandbox: () => undefined });
    try {
      const code = 'import faulthandler\ndef run(contact, existing_contact, logger, **kwargs):\n    if contact.name == "crash":\n        faulthandler._read_null()\n    contact.internal_data["ran"] = True\n    return contact\n';
      const [first, second] = await Promise.all([
        runner.run(strategy('crash:1', code), 'data-load', [{ contact: contact({ name: 'a' }) }, { contact: contact({ name: 'crash' }) }, { contact: contact({ name: 'b' }) }], ctx),
        runner.run(strategy('crash:1', code), 'data-load', [{ contact: contact({ name: 'c' }) }], ctx),
      ]);
      assert.equal(ok(first[0]).contact!.internalData.ran, true);
      assert.match(failed(first[1]).error, /^StrategyWorkerError: the strategy worker (was killed by SIGSEGV|exited with code \d+)/);
      assert.equal(ok(first[2]).contact!.internalData.ran, true);
      assert.equal(ok(second[0]).contact!.internalData.ran, true);
    } finally {
      await runner.close();
    }
  });

  it('fails calls, rather than run them without it, when bubblewrap is required and missing', async () => {
    const runner = new StrategyRunner({ workers: 1, sandbox: 'bwrap', bwrapPath: '/nonexistent/bwrap', onSandbox: () => undefined });
    try {
      const [o] = await runner.run(strategy('bwrap:1', SEED_DATA_LOAD), 'data-load', [{ contact: contact() }], ctx);
      assert.match(failed(o).error, /^StrategyWorkerError: python workers fail to start \(could not start: bubblewrap is required/);
      await assert.rejects(runner.sandbox(), /python workers fail to start/);
    } finally {
      await runner.close();
    }
  });

  it('refuses work after close()', async () => {
    const runner = new StrategyRunner({ workers: 1 });
    await runner.close();
    await assert.rejects(runner.run(strategy('x:1', SEED_DATA_LOAD), 'data-load', [{ contact: contact() }], ctx), /closed/);
  });
});
