/**
 * Dispatch throughput, each beside the raw client in the same run, on the
 * machine's PostgreSQL and loopback stand-ins.
 *
 * 1. Email Notification: N (10,000) CommunicationStarted on an Email
 *    Notification stage are already in the event store; dispatch's workers
 *    start (the embedded bus, as `npm start` runs them: the senders'
 *    consumer, the conversation and transcript consumers) and carry each one
 *    through the real path: consumer progress, send ledger claim, contact and
 *    campaign rebuilt from their streams, opt-out check, template rendered,
 *    nodemailer (pooled SMTP transport) to a real SMTP server on loopback
 *    (smtp-server, which reads and discards each message), ledger record,
 *    CommunicationEnded appended. Measured: from the workers' start until N
 *    CommunicationEnded are in the store.
 *    Baseline: nodemailer alone, a pooled transport with the same options
 *    (4 connections), sending the same N messages (same envelope, subject,
 *    body, Message-ID and headers, prepared in memory) to the same server,
 *    all queued at once.
 * 2. WhatsApp: N CommunicationStarted on a WhatsApp stage with a scripted
 *    agent, through the real path (as above, plus the session opened and the
 *    template message recorded as its first SessionMessageAdded) to a
 *    loopback HTTP server standing in for Meta's Graph API (POST
 *    /{version}/{phone-number-id}/messages answered as Meta answers it).
 *    The integration's messagesPerSecond is set far above what loopback
 *    reaches, so the rate limiter does not pace the run. Measured: from the
 *    workers' start until every opening is recorded.
 *    Baseline: fetch alone, the same N request bodies and headers to the same
 *    server, with as many requests in flight as dispatch's senders keep
 *    (SENDER_CONCURRENCY).
 *
 * Both stand-ins run in a worker thread (a real server would be elsewhere).
 * After a warm-up of WARM messages on every path (not measured), ROUNDS
 * rounds alternate the raw client and dispatch on fresh contacts; the best
 * of each is compared (the machine's pace moves between runs).
 *
 *   npm run bench -- dispatch            (N=10000, ROUNDS=2, WARM=1000)
 *   N=500 npm run bench -- dispatch      (a smoke run)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { campaignStreamId, contactStreamId, newEvent, type Event } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { StoreBus } from '@herald/bus';
import { createTestDatabase, eventually } from '@herald/testing';
import { DispatchRuntime, SENDER_CONCURRENCY } from '../services/dispatch/src/dispatch-runtime';
import { SecretBox } from '../services/dispatch/src/secrets/secret-box';
import { listUnsubscribeHeaders } from '../services/dispatch/src/adapters/email/smtp-transports';
import { renderTemplate } from '../services/dispatch/src/adapters/template';

const N = Number(process.env.N ?? 10_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const WARM = Number(process.env.WARM ?? Math.min(N, 1000));
const WS = 'ws-bench';
const FROM = 'Herald <noreply@herald.example>';
const SUBJECT = 'Payment due, {{name}}';
const TEMPLATE = 'Hello {{name}}, {{amount}} EUR is due on {{due}}. Please pay by bank transfer to the account on your invoice.';

const rate = (n: number, ms: number) => n / (ms / 1000);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * The stand-ins run in a worker thread, so that their work is not charged to
 * the process under test (a real server would be elsewhere): a real SMTP
 * server (smtp-server) that reads each message to its end and keeps a count,
 * and an HTTP server standing in for the Graph API messages endpoint, which
 * parses each JSON body and answers as Meta does. Counts are shared through
 * a SharedArrayBuffer.
 */
const STAND_INS = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const { randomUUID } = require('node:crypto');
const { SMTPServer } = require('smtp-server');
const counts = new Int32Array(workerData.counts);
const smtp = new SMTPServer({
  authOptional: true, disabledCommands: ['STARTTLS'], logger: false, size: 10 * 1024 * 1024,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => { Atomics.add(counts, 0, 1); callback(); });
  },
});
const graph = createServer((req, res) => {
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    Atomics.add(counts, 1, 1);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: body.to }], messages: [{ id: 'wamid.' + randomUUID() }] }));
  });
});
graph.keepAliveTimeout = 10000;
smtp.listen(0, '127.0.0.1', () => graph.listen(0, '127.0.0.1', () => parentPort.postMessage({ smtp: smtp.server.address().port, graph: graph.address().port })));
parentPort.on('message', (m) => { if (m === 'close') { graph.closeAllConnections(); graph.close(); smtp.close(() => process.exit(0)); } });
`;

async function standIns(): Promise<{ smtpPort: number; graphUrl: string; mails(): number; posts(): number; close(): Promise<void> }> {
  const counts = new SharedArrayBuffer(8);
  const view = new Int32Array(counts);
  const worker = new Worker(STAND_INS, { eval: true, workerData: { counts } });
  const ports = await new Promise<{ smtp: number; graph: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    smtpPort: ports.smtp, graphUrl: `http://127.0.0.1:${ports.graph}`, mails: () => Atomics.load(view, 0), posts: () => Atomics.load(view, 1),
    close: () => new Promise<void>((resolve) => { worker.once('exit', () => resolve()); worker.postMessage('close'); }),
  };
}

async function countOf(pool: import('pg').Pool, sql: string, params: unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(sql, params);
  return Number(rows[0].n);
}

async function main(): Promise<void> {
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}; N = ${N.toLocaleString('en-US')}, senders' concurrency ${SENDER_CONCURRENCY}`);
  const db = await createTestDatabase('herald_bench_dispatch');
  const store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
  const stand = await standIns();
  const rt = new DispatchRuntime({ pool: db.pool, store, box: SecretBox.fromKey(randomBytes(32)), publicUrl: 'http://herald.bench' });
  const bus = new StoreBus(store);
  let counting: pg.Client | undefined;
  try {
    await rt.ensureSchema();
    await rt.start();
    await rt.integrations.configure(WS, { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: stand.smtpPort, from: FROM } });
    const wa = { phoneNumberId: '1100', accessToken: 'bench-token', appSecret: 'app-secret', verifyToken: 'verify', apiUrl: stand.graphUrl, apiVersion: 'v21.0', messagesPerSecond: 1_000_000 };
    await rt.integrations.configure(WS, { name: 'wa', type: 'whatsapp', config: wa });
    await rt.agents.save(WS, { name: 'Bench', backend: 'scripted', channels: ['whatsapp'], integrations: ['wa'], states: [{ name: 'start', start: true }], scripted: { rules: [] } });
    const campaignId = randomUUID();
    const meta = { workspaceId: WS };
    await store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'bench', description: 'dispatch bench', labels: [] }, meta),
      newEvent('StageAdded', { stage: { id: 's1', name: 'Mail', description: 'd', channel: 'email_notification', agent: null, settings: { integration: 'mail', subject: SUBJECT, template: TEMPLATE } } }, meta),
      newEvent('StageAdded', { stage: { id: 's2', name: 'WA', description: 'd', channel: 'whatsapp', agent: 'Bench', settings: { integration: 'wa', startState: 'start', templateName: 'payment_due', templateParameters: ['{{name}}', '{{amount}}'] } } }, meta),
    ], 'no_stream');

    const contacts = Array.from({ length: N }, (_, i) => ({
      key: `o:${i}`, name: `Contact ${i}`, email: `contact${i}@example.com`, phone: `+1555${String(i).padStart(7, '0')}`, parameters: { amount: 100 + (i % 900), due: '2026-12-01' },
    }));
    /** The contacts of one pass, each with one communication started on `stageName` (as the scheduler appends it); nothing consumes them yet. */
    const seed = async (prefix: string, stageName: string, channel: string, agent: string | null, count: number) => {
      for (let from = 0; from < count; from += 1000) {
        await store.appendMany(contacts.slice(from, Math.min(count, from + 1000)).map((c) => {
          const key = `${prefix}${c.key}`;
          const commId = randomUUID();
          const events: Event[] = [
            newEvent('ContactCreated', { campaignId, key, objectId: key, externalId: null, name: c.name, email: c.email, phone: c.phone, parameters: c.parameters, uploadId: null, row: null }, meta),
            newEvent('CommunicationPlanned', { communication: { id: commId, name: 'first', stageName, startDate: new Date().toISOString(), endDate: null } }, meta),
            newEvent('CommunicationStarted', { communicationId: commId, campaignId, contactKey: key, stageName, channel, agent, variant: null, startedAt: new Date().toISOString(), sessionId: null }, meta),
          ];
          return { streamId: contactStreamId(campaignId, key), expectedRevision: 'no_stream' as const, events };
        }));
      }
    };
    /** Dispatch's workers from their start until `done` (polled every 20 ms). */
    const run = async (done: () => Promise<boolean>) => {
      const t = performance.now();
      const workers = await rt.startWorkers(bus, { silenceCheckMs: 60_000 });
      await eventually(async () => (await done()) || undefined, { timeoutMs: 1_800_000, intervalMs: 20, what: 'every communication dispatched' });
      const ms = performance.now() - t;
      await workers.stop();
      return ms;
    };
    const count = (sql: string, params: unknown[] = []) => countOf(db.pool, sql, params);
    /**
     * How many events of a kind a pass has produced so far, counted incrementally (each poll reads only
     * the log after the last one it saw, by position): a count over the whole log every 20 ms would cost
     * PostgreSQL more CPU as the log grows than dispatch itself, and the machine has two cores. On a
     * connection of its own without parallel workers (a count would start two every poll).
     */
    const client = new pg.Client({ connectionString: db.url });
    counting = client;
    await client.connect();
    await client.query('SET max_parallel_workers_per_gather = 0');
    const counter = (prefix: string, condition: string) => {
      let after = 0;
      let total = 0;
      return async () => {
        const { rows } = await client.query<{ n: string; last: string | null }>(
          `SELECT count(*) AS n, max(position) AS last FROM herald_events WHERE position > $1 AND ${condition} AND stream_id LIKE $2`,
          [after, `contact-${campaignId}-${prefix}%`]);
        total += Number(rows[0].n);
        if (rows[0].last) after = Number(rows[0].last);
        return total;
      };
    };
    const agentOpenings = (prefix: string) => counter(prefix, `type = 'SessionMessageAdded' AND data->>'role' = 'agent'`);
    const ended = (prefix: string) => counter(prefix, `type = 'CommunicationEnded' AND data->>'status' = 'COMPLETED'`);

    // ---- the raw clients, on messages prepared in memory ------------------
    const mails = contacts.map((c) => {
      const contact = { name: c.name, email: c.email, parameters: c.parameters } as unknown as Parameters<typeof renderTemplate>[1];
      return {
        from: FROM, to: { name: c.name, address: c.email }, subject: renderTemplate(SUBJECT, contact), text: renderTemplate(TEMPLATE, contact),
        headers: { 'X-Herald-Communication': randomUUID(), ...listUnsubscribeHeaders(rt.unsubscribe.link(WS, 'email_notification', c.email)) },
      };
    });
    /** nodemailer alone: a pooled transport with dispatch's options, every message queued at once. */
    const rawMail = async (count: number) => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: stand.smtpPort, secure: false, pool: true, maxConnections: 4, maxMessages: Infinity, tls: { rejectUnauthorized: true } });
      const before = stand.mails();
      const t = performance.now();
      await Promise.all(mails.slice(0, count).map((m) => transport.sendMail({ ...m, messageId: `<${randomUUID()}@herald>` })));
      const ms = performance.now() - t;
      transport.close();
      if (stand.mails() - before !== count) throw new Error(`the SMTP server got ${stand.mails() - before} of ${count} raw messages`);
      return ms;
    };
    const bodies = contacts.map((c) => JSON.stringify({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: c.phone.replace(/\D/g, ''), type: 'template',
      template: { name: 'payment_due', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: c.name }, { type: 'text', text: String(c.parameters.amount) }] }] },
    }));
    const url = `${stand.graphUrl}/v21.0/1100/messages`;
    const headers = { 'content-type': 'application/json', authorization: 'Bearer bench-token' };
    /** fetch alone: the same bodies and headers, as many requests in flight as dispatch's senders keep. */
    const rawFetch = async (count: number) => {
      let next = 0;
      const t = performance.now();
      await Promise.all(Array.from({ length: SENDER_CONCURRENCY }, async () => {
        while (next < count) {
          const body = bodies[next++];
          const r = await fetch(url, { method: 'POST', headers, body });
          const answer = (await r.json()) as { messages?: { id: string }[] };
          if (!r.ok || !answer.messages?.[0]?.id) throw new Error(`stand-in answered ${r.status}`);
        }
      }));
      return performance.now() - t;
    };

    // ---- warm-up (not measured): both paths once on WARM messages -----------
    await rawMail(WARM);
    await rawFetch(WARM);
    await seed('warm-mail-', 'Mail', 'email_notification', null, WARM);
    await seed('warm-wa-', 'WA', 'whatsapp', 'Bench', WARM);
    const warmMail = ended('warm-mail-');
    const warmWa = agentOpenings('warm-wa-');
    await run(async () => (await warmMail()) >= WARM && (await warmWa()) >= WARM);

    // ---- rounds: raw client and dispatch alternately, best of each ---------
    const best = { rawMail: Infinity, mail: Infinity, rawWa: Infinity, wa: Infinity };
    const runs: Record<keyof typeof best, number[]> = { rawMail: [], mail: [], rawWa: [], wa: [] };
    const keep = (k: keyof typeof best, ms: number) => {
      runs[k].push(ms);
      best[k] = Math.min(best[k], ms);
    };
    for (let round = 1; round <= ROUNDS; round++) {
      keep('rawMail', await rawMail(N));
      await seed(`m${round}-`, 'Mail', 'email_notification', null, N);
      const mailEnded = ended(`m${round}-`);
      keep('mail', await run(async () => (await mailEnded()) >= N));
      keep('rawWa', await rawFetch(N));
      await seed(`w${round}-`, 'WA', 'whatsapp', 'Bench', N);
      const waOpened = agentOpenings(`w${round}-`);
      keep('wa', await run(async () => (await waOpened()) >= N));
    }
    const failed = await count(`SELECT count(*) AS n FROM herald_events WHERE type = 'CommunicationEnded' AND data->>'status' <> 'COMPLETED'`);
    if (failed) throw new Error(`${failed} email communications did not end COMPLETED`);
    const expectedMails = WARM * 2 + ROUNDS * N * 2;
    if (stand.mails() !== expectedMails || stand.posts() !== expectedMails) throw new Error(`the stand-ins got ${stand.mails()} emails and ${stand.posts()} Graph requests, expected ${expectedMails} each`);

    const list = (k: keyof typeof best) => runs[k].map((ms) => `${fmt(ms)} ms`).join(', ');
    console.log(`\nemail notification, ${N.toLocaleString('en-US')} messages to a loopback SMTP server (smtp-server, in a worker thread); best of ${ROUNDS} rounds after a warm-up of ${WARM}`);
    console.log(`  raw nodemailer (pooled, 4 connections, all queued at once): ${fmt(rate(N, best.rawMail))} emails/s (${list('rawMail')})`);
    console.log(`  dispatch (consumer, ledger, contact and campaign rebuilt, opt-outs, render, nodemailer, CommunicationEnded): ${fmt(rate(N, best.mail))} emails/s (${list('mail')})`);
    console.log(`  ratio dispatch / raw: ${(best.rawMail / best.mail).toFixed(2)} (target >= 0.8)`);
    console.log(`\nWhatsApp template messages, ${N.toLocaleString('en-US')} to a loopback Graph API stand-in (in a worker thread); best of ${ROUNDS} rounds after a warm-up of ${WARM}`);
    console.log(`  raw fetch (${SENDER_CONCURRENCY} in flight): ${fmt(rate(N, best.rawWa))} messages/s (${list('rawWa')})`);
    console.log(`  dispatch (consumer, ledger, rebuilt, session opened, scripted agent, adapter, opening recorded): ${fmt(rate(N, best.wa))} messages/s (${list('wa')})`);
    console.log(`  ratio dispatch / raw: ${(best.rawWa / best.wa).toFixed(2)} (target >= 0.8)`);
    console.log(`\nload average at end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await counting?.end();
    await bus.close();
    await rt.close();
    await store.close();
    await stand.close();
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
