/**
 * Replay of the event log into an in-memory projection: EVENTS contact
 * events (default 10,000,000) are read back through the EventStore port
 * (PostgresEventStore.readAll through tools/projections/replay-log.ts, the
 * path projections:rebuild takes: the next page is read while the current
 * one is folded) and folded into a per-contact read model in memory (outcome,
 * stage, communications count).
 *
 * Baseline in the same run: a raw SELECT of the same rows in the same
 * position order and page size, with JSON.parse of data and metadata (the
 * least any replay must do), folded into nothing.
 *
 *   npm run bench -- replay             (EVENTS=1000000 for a quicker run)
 */
import { Client } from 'pg';
import { PostgresEventStore } from '@herald/event-store';
import type { RecordedEvent } from '@herald/contracts';
import { createTestDatabase } from '@herald/testing';
import { replayLog } from '../tools/projections/replay-log';

const EVENTS = Number(process.env.EVENTS ?? 10_000_000);
const PAGE = Number(process.env.PAGE ?? 10_000);
const PER_CONTACT = 5;

/** Seeds realistic contact streams server-side (generate_series): ContactCreated, then stage, plan, outcome, details. */
async function seed(url: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const chunk = 1_000_000;
  for (let from = 1; from <= EVENTS; from += chunk) {
    const to = Math.min(EVENTS, from + chunk - 1);
    await c.query(
      `insert into herald_events (position, stream_id, revision, event_id, type, data, metadata)
       select p,
              'contact-6f1d8a52-3c1e-4b8e-9a57-2f0c1f7d4e10-o:' || ((p - 1) / ${PER_CONTACT}),
              ((p - 1) % ${PER_CONTACT})::int,
              md5(p::text)::uuid,
              (array['ContactCreated','ContactStageChanged','CommunicationPlanned','ContactOutcomeSet','ContactDetailsChanged'])[((p - 1) % ${PER_CONTACT}) + 1],
              case (p - 1) % ${PER_CONTACT}
                when 0 then jsonb_build_object('campaignId', '6f1d8a52-3c1e-4b8e-9a57-2f0c1f7d4e10', 'key', 'o:' || ((p - 1) / ${PER_CONTACT}), 'objectId', ((p - 1) / ${PER_CONTACT})::text,
                  'externalId', null, 'name', 'Person ' || p, 'email', 'p' || p || '@example.com', 'phone', '+1202555' || (p % 10000),
                  'parameters', jsonb_build_object('amount_due', p % 1000, 'due_date', '2026-03-01'), 'uploadId', null, 'row', p)
                when 1 then jsonb_build_object('from', null, 'to', '1 Reminder')
                when 2 then jsonb_build_object('communication', jsonb_build_object('id', md5('c' || p)::uuid, 'name', 'Reminder', 'stageName', '1 Reminder',
                  'startDate', '2026-03-01T09:00:00.000Z', 'endDate', null))
                when 3 then jsonb_build_object('outcome', (array['SUCCESS','NEGATIVE','POSITIVE'])[(p % 3) + 1], 'previous', 'UNCERTAIN')
                else jsonb_build_object('email', 'new' || p || '@example.com')
              end,
              jsonb_build_object('eventId', md5(p::text)::uuid, 'workspaceId', 'default', 'correlationId', md5('u')::uuid, 'causationId', null,
                'schemaVersion', 1, 'timestamp', '2026-03-01T09:00:00.000Z')
       from generate_series($1::bigint, $2::bigint) p`,
      [from, to],
    );
    process.stdout.write(`\r  seeded ${to.toLocaleString()} / ${EVENTS.toLocaleString()}`);
  }
  await c.query(`update herald_log_head set position = $1`, [EVENTS]);
  await c.query('analyze herald_events');
  await c.end();
  process.stdout.write('\n');
}

interface ContactRow { outcome: string; stage: string | null; communications: number; email: string | null }

/** The in-memory projection: what a contact list needs, per stream. */
function project(model: Map<string, ContactRow>, e: RecordedEvent): void {
  const d = e.data as Record<string, any>;
  switch (e.type) {
    case 'ContactCreated':
      model.set(e.streamId, { outcome: 'UNCERTAIN', stage: null, communications: 0, email: d.email });
      return;
    case 'ContactStageChanged': { const c = model.get(e.streamId); if (c) c.stage = d.to; return; }
    case 'CommunicationPlanned': { const c = model.get(e.streamId); if (c) c.communications += 1; return; }
    case 'ContactOutcomeSet': { const c = model.get(e.streamId); if (c) c.outcome = d.outcome; return; }
    case 'ContactDetailsChanged': { const c = model.get(e.streamId); if (c && 'email' in d) c.email = d.email; return; }
  }
}

async function replayThroughStore(store: PostgresEventStore): Promise<{ seconds: number; model: Map<string, ContactRow> }> {
  const model = new Map<string, ContactRow>();
  const started = process.hrtime.bigint();
  for await (const page of replayLog(store, { after: 0, pageSize: PAGE, streamPrefixes: ['contact-'] })) {
    for (const e of page) project(model, e);
  }
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, model };
}

async function rawSelect(url: string): Promise<{ seconds: number; rows: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  // Raw text, parsed by us: no type parsers in the way.
  const started = process.hrtime.bigint();
  let after = 0;
  let rows = 0;
  for (;;) {
    const { rows: page } = await c.query({
      text: `select position, stream_id, revision, type, data::text as data, metadata::text as metadata from herald_events
             where position > $1 order by position limit $2`,
      values: [after, PAGE],
      rowMode: 'array',
    });
    if (!page.length) break;
    for (const r of page) {
      JSON.parse(r[4]);
      JSON.parse(r[5]);
    }
    rows += page.length;
    after = Number(page[page.length - 1][0]);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await c.end();
  return { seconds, rows };
}

async function main(): Promise<void> {
  const db = await createTestDatabase('herald_bench_replay');
  try {
    const store = await PostgresEventStore.create(db.pool, { notify: false });
    console.log(`  events: ${EVENTS.toLocaleString()} (${PER_CONTACT} per contact), page ${PAGE}`);
    const seedStart = Date.now();
    await seed(db.url);
    console.log(`  seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
    // Warm the cache for both sides alike, then alternate: raw, store, raw, store.
    await rawSelect(db.url);
    const raw1 = await rawSelect(db.url);
    const store1 = await replayThroughStore(store);
    const raw2 = await rawSelect(db.url);
    const store2 = await replayThroughStore(store);
    if (store2.model.size !== EVENTS / PER_CONTACT || raw2.rows !== EVENTS) throw new Error(`replayed ${store2.model.size} contacts / ${raw2.rows} rows, expected ${EVENTS / PER_CONTACT} / ${EVENTS}`);
    const rawRate = EVENTS / Math.min(raw1.seconds, raw2.seconds);
    const storeRate = EVENTS / Math.min(store1.seconds, store2.seconds);
    console.log(`  raw SELECT + JSON.parse:           ${Math.round(rawRate).toLocaleString()} events/s (${raw1.seconds.toFixed(1)} s, ${raw2.seconds.toFixed(1)} s)`);
    console.log(`  replay into in-memory projection:  ${Math.round(storeRate).toLocaleString()} events/s (${store1.seconds.toFixed(1)} s, ${store2.seconds.toFixed(1)} s), ratio ${(storeRate / rawRate).toFixed(2)}`);
    console.log(`  target: >= 150,000 events/s and >= 0.7 of raw`);
  } finally {
    await db.drop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
