import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { contactStreamId, deterministicEventId, END_STATUSES, type ContactState } from '@herald/contracts';
import { diffContact, InvalidContactError, type ContactChange, type ContactDraft } from '@herald/contact-model';
import { StrategyRunner, type SandboxInfo, type StrategyHook, type StrategyInput } from '../runtime/strategy-runner';
import { normaliseAllowlist } from '../runtime/address-policy';
import { asSnakeCase, contactFrom, InputError, messageFrom, parseJsonFile } from './contact-file';

export const USAGE = `Usage: herald strategy test FILE --function NAME --type data-load|aggregation|intermediate --contact contact.json
         [--existing existing.json] [--session-results results.json] [--message message.json]
         [--flagged COMMUNICATION_ID] [--stages "Stage A,Stage B"] [--timeout SECONDS] [--allow-host HOST]... [--now ISO] [--json]

Runs a strategy through the platform's own runtime (the same sandboxed worker) and prints
the contact it returns and the events the platform would append.
  --contact          the contact the strategy receives (snake_case as in the SDK, or the platform's camelCase)
  --existing         Data Load: the stored contact with the same key
  --session-results  Aggregation: the session results (default: those of the flagged communication)
  --flagged          Aggregation: the communication that ended (default: the one that ended last)
  --message          Intermediate analysis: the message ({"role": "contact", "content": "..."})
  --stages           the campaign's stage names (default: accept any)
  --timeout          wall-time limit of the call in seconds (default 5)
  --allow-host       a host name the strategy may call (the campaign's egress allowlist); repeatable
  --json             one JSON document: {ok, contact, events, logs, error, traceback}
Exit status: 0 the strategy ran, 1 it failed or returned something the platform refuses, 2 bad input or upload-time errors.`;

const HOOKS: Record<string, StrategyHook> = { 'data-load': 'data-load', aggregation: 'aggregation', intermediate: 'intermediate' };

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  read(path: string): string;
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  read: (p) => readFileSync(p, 'utf8'),
};

export async function strategyTest(argv: string[], io: CliIo = processIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        function: { type: 'string' }, type: { type: 'string' }, contact: { type: 'string' }, existing: { type: 'string' },
        'session-results': { type: 'string' }, message: { type: 'string' }, flagged: { type: 'string' }, stages: { type: 'string' },
        timeout: { type: 'string' }, 'allow-host': { type: 'string', multiple: true }, now: { type: 'string' }, json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const o = args.values;
  if (o.help) {
    io.out(USAGE);
    return 0;
  }
  const [file] = args.positionals;
  const hook = HOOKS[o.type ?? ''];
  if (!file || !o.function || !hook || !o.contact) {
    io.err(`${!file ? 'FILE' : !o.function ? '--function' : !hook ? '--type (data-load, aggregation or intermediate)' : '--contact'} is required\n\n${USAGE}`);
    return 2;
  }
  const now = o.now ? new Date(o.now) : new Date();
  const timeout = o.timeout === undefined ? 5 : Number(o.timeout);
  if (Number.isNaN(now.getTime())) return usage(io, `--now: "${o.now}" is not an ISO-8601 date`);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 300) return usage(io, '--timeout: seconds between 0 and 300');
  const allowlist = normaliseAllowlist(o['allow-host'] ?? []);
  for (const r of allowlist.rejected) io.err(`--allow-host ${r.entry}: ${r.reason}; ignored`);

  let code: string;
  let contact: ContactState;
  let existing: ContactState | null = null;
  let input: StrategyInput;
  try {
    code = readInput(io, file);
    contact = contactFrom(parseJsonFile(o.contact, readInput(io, o.contact)), basename(o.contact), now);
    if (hook === 'data-load') {
      existing = o.existing ? contactFrom(parseJsonFile(o.existing, readInput(io, o.existing)), basename(o.existing), now) : null;
      input = { contact: snapshot(contact), existing: existing ? snapshot(existing) : null };
    } else if (hook === 'aggregation') {
      const flagged = o.flagged ?? [...contact.communications].reverse().find((c) => (END_STATUSES as readonly string[]).includes(c.status))?.id ?? null;
      if (o.flagged && !contact.communications.some((c) => c.id === o.flagged)) throw new InputError(`--flagged: the contact has no communication "${o.flagged}"`);
      const results = o['session-results'] ? parseJsonFile(o['session-results'], readInput(io, o['session-results'])) : contact.communications.find((c) => c.id === flagged)?.sessionResults ?? {};
      if (!results || typeof results !== 'object' || Array.isArray(results)) throw new InputError(`${o['session-results']}: expected a JSON object (the session results)`);
      input = { contact: snapshot(contact), sessionResults: results as StrategyInput['sessionResults'], flaggedCommunicationId: flagged };
    } else {
      if (!o.message) throw new InputError('--message is required for --type intermediate');
      input = { contact: snapshot(contact), message: messageFrom(parseJsonFile(o.message, readInput(io, o.message)), basename(o.message), now) };
    }
  } catch (error) {
    if (error instanceof InputError) return usage(io, error.message);
    throw error;
  }

  let sandbox: SandboxInfo | null = null;
  const runner = new StrategyRunner({ workers: 1, spareWorker: false, timeoutMs: Math.round(timeout * 1000), onSandbox: (info) => { sandbox = info; } });
  try {
    const check = await runner.validate(code, o.function);
    if (!check.ok) {
      for (const e of check.errors) io.err(`${file}${e.line ? `:${e.line}` : ''}: ${e.message}`);
      return 2;
    }
    const stages = o.stages ? o.stages.split(',').map((s) => s.trim()).filter(Boolean) : null;
    const campaign = { id: 'cli', name: 'herald strategy test', stages: stages ?? [], resultCodes: ['ResultFlag', 'ResultDatetime'], settings: {} };
    const [outcome] = await runner.run({ key: `cli:${file}`, code, functionName: o.function }, hook, [input], { campaign, now }, { egressAllowlist: allowlist.hosts });
    const info = sandbox as SandboxInfo | null;
    const report: Record<string, unknown> = { ok: outcome.ok, sandbox: info?.mode ?? null, logs: outcome.logs };
    if (!outcome.ok) {
      // Tracebacks name the uploaded file "strategy.py"; here it has a name of its own.
      const traceback = outcome.traceback.replaceAll('File "strategy.py"', `File "${basename(file)}"`);
      Object.assign(report, { error: outcome.error, traceback, contact: null, events: [] });
      print(io, o.json, report, 'The strategy failed; the platform would leave the contact unchanged.');
      return 1;
    }
    if (outcome.contact === null) {
      Object.assign(report, { contact: null, events: [] });
      print(io, o.json, report, 'The strategy returned None: no change.');
      return 0;
    }
    const result = outcome.contact;
    const base = existing ?? contact;
    const known = stages ?? [...new Set([base.currentStage, result.currentStage, ...base.communications.map((c) => c.stageName), ...result.communications.map((c) => c.stageName)].filter((s): s is string => !!s))];
    let changes: ContactChange[];
    try {
      changes = diffContact(base, result as unknown as ContactDraft, { stages: known, now, newCommunicationId: (n) => deterministicEventId('cli:communication', n) });
    } catch (error) {
      if (!(error instanceof InvalidContactError)) throw error;
      Object.assign(report, { ok: false, error: `InvalidContact: ${error.message}`, traceback: '', contact: asSnakeCase(result), events: [] });
      print(io, o.json, report, 'The platform would refuse this contact and leave it unchanged.');
      return 1;
    }
    const events = hook === 'data-load' && !existing ? [{ type: 'ContactCreated', data: createdData(contact) }, ...changes] : changes;
    Object.assign(report, { contact: asSnakeCase(result), events, stream: contactStreamId('<campaign>', base.key), stagesChecked: stages !== null });
    print(io, o.json, report, stages ? '' : 'No --stages given: every stage name was accepted.');
    return 0;
  } finally {
    await runner.close();
  }
}

function readInput(io: CliIo, path: string): string {
  try {
    return io.read(path);
  } catch (error) {
    throw new InputError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function usage(io: CliIo, message: string): number {
  io.err(message);
  return 2;
}

const snapshot = ({ campaignId: _c, key: _k, updatedAt: _u, revision: _r, ...rest }: ContactState) => rest;

function createdData(c: ContactState) {
  return { campaignId: '<campaign>', key: c.key, objectId: c.objectId, externalId: c.externalId, name: c.name, email: c.email, phone: c.phone, parameters: c.parameters, uploadId: null, row: null };
}

function print(io: CliIo, json: boolean | undefined, report: Record<string, unknown>, note: string): void {
  if (json) {
    io.out(JSON.stringify(report, null, 2));
    return;
  }
  const logs = report.logs as { level: string; message: string }[];
  const lines: string[] = [];
  if (logs.length) {
    lines.push('Logs:');
    for (const l of logs) lines.push(`  ${l.level.padEnd(7)} ${l.message.replace(/\n/g, '\n          ')}`);
    lines.push('');
  }
  if (report.error) {
    lines.push(`Error: ${report.error}`);
    if (report.traceback && report.traceback !== report.error) lines.push(String(report.traceback).trimEnd());
  }
  if (report.contact) lines.push('Resulting contact:', JSON.stringify(report.contact, null, 2), '');
  const events = (report.events ?? []) as ContactChange[];
  if (report.ok && report.contact) {
    lines.push(events.length ? `Events it would append (${events.length}):` : 'Events it would append: none (the contact is unchanged).');
    events.forEach((e, i) => lines.push(`  ${i + 1}. ${e.type} ${JSON.stringify(e.data)}`));
  }
  if (note) lines.push('', note);
  io.out(lines.join('\n'));
}
