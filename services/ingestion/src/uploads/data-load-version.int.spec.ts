import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { campaignStreamId, contactStreamId, newEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { StrategiesGrpcClient } from '@herald/service-clients';
import { ensureCampaignLogSchema, readCampaignLog } from '@herald/service-defaults';
import { createTestDatabase, eventually, freePort, startService, type ServiceProcess, type TestDatabase } from '@herald/testing';
import { INGESTION_SCHEMA } from './schema';
import { UploadWorker } from './upload-worker';

// A Data Load strategy uploaded twice (version 2 is the one that must run).
const V1 = 'def run(contact, existing_contact, logger, **kwargs):\n    contact.current_stage = "Old"\n    return contact\n';
const V2 = `
def run(contact, existing_contact, logger, **kwargs):
    logger.info("planning %s", contact.object_id)
    if contact.object_id == "C-2":
        amount = int(contact.parameters["amount_due"])
        raise ValueError(f"cannot plan {amount}")
    if contact.object_id == "C-3":
        contact.current_stage = "No Such Stage"
        return contact
    contact.current_stage = "First Contact"
    contact.internal_data["planned_by"] = "v2"
    return contact
`;

// Version 3: a re-upload of a stored contact with a new amount fails.
const V3 = `
def run(contact, existing_contact, logger, **kwargs):
    if existing_contact is not None:
        raise RuntimeError(f"amount changed to {contact.parameters['amount_due']}")
    return contact
`;

// Real PostgreSQL, the strategies service as its own process (gRPC, real sandboxed Python workers, Kafka for
// its consumers), and ingestion's upload worker calling it through the gRPC client, as in the distributed mode.
describe('Data Load through the upload worker records the strategy version it ran', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let strategies: ServiceProcess;
  let worker: UploadWorker;
  const ws = 'ws-data-load-version';
  const meta = { workspaceId: ws };
  const campaignId = randomUUID();
  const uploadId = randomUUID();
  const loadId = randomUUID();

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await db.pool.query(INGESTION_SCHEMA);
    await ensureCampaignLogSchema(db.pool);
    await store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'Collections', description: 'd', labels: [] }, meta),
      ...['Old', 'First Contact'].map((name) => newEvent('StageAdded', { stage: { id: randomUUID(), name, description: name, channel: 'email_notification', agent: null, settings: {} } }, meta)),
      newEvent('StrategyAdded', { strategy: { id: loadId, name: 'Planner', description: 'd', type: 'DATA_LOAD', functionName: 'run', fileName: 'load.py', code: V1, version: 1 } }, meta),
      newEvent('StrategyFileReplaced', { strategyId: loadId, fileName: 'load.py', code: V2, version: 2 }, meta),
      newEvent('ContactsUploadStarted', { uploadId, fileName: 'contacts.csv' }, meta),
    ], 'no_stream');
    const csv = ['object_id,name,email,amount_due', 'C-1,Ann,ann@example.com,100', 'C-2,Bob,bob@example.com,250', 'C-3,Cid,cid@example.com,300'].join('\n') + '\n';
    await db.pool.query(`insert into ingestion_uploads (id, workspace_id, campaign_id, file_name, state) values ($1, $2, $3, 'contacts.csv', 'queued')`, [uploadId, ws, campaignId]);
    await db.pool.query('insert into ingestion_upload_chunks (upload_id, seq, data) values ($1, 0, $2)', [uploadId, Buffer.from(csv)]);

    const port = await freePort();
    strategies = startService('strategies', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      KAFKA_TOPIC_PREFIX: `int-${randomBytes(4).toString('hex')}.`,
      STRATEGIES_GRPC_URL: `127.0.0.1:${port}`,
    });
    await eventually(async () => {
      if (strategies.child.exitCode !== null) throw new Error(`strategies exited\n${strategies.output()}`);
      return /ready \(gRPC /.test(strategies.output());
    }, { what: 'the strategies service to start', timeoutMs: 60_000 });
    worker = new UploadWorker(db.pool, store, new StrategiesGrpcClient(`127.0.0.1:${port}`));
    worker.start();
    await uploaded(uploadId);
  });

  async function uploaded(id: string): Promise<void> {
    await eventually(async () => {
      const { rows } = await db.pool.query<{ state: string }>('select state from ingestion_uploads where id = $1', [id]);
      return rows[0].state === 'completed';
    }, { what: `upload ${id} to complete`, timeoutMs: 60_000 });
  }

  after(async () => {
    await worker?.stop();
    await strategies?.kill();
    await store?.close();
    await db?.drop();
  });

  it('every event a Data Load run appends carries the strategy id and the version that ran', async () => {
    const events = await store.readStream(contactStreamId(campaignId, 'o:C-1'));
    assert.deepEqual(events.map((e) => e.type), ['ContactCreated', 'ContactStageChanged', 'ContactInternalDataChanged']);
    assert.deepEqual((events[1].data as { to: string }).to, 'First Contact', 'version 2 ran, not version 1');
    for (const e of events) {
      assert.equal(e.metadata.strategyId, loadId, `${e.type}: strategyId`);
      assert.equal(e.metadata.strategyVersion, 2, `${e.type}: strategyVersion`);
      assert.equal(e.metadata.correlationId, uploadId);
    }
  });

  it('its log output and its errors in the campaign log name the strategy and its version', async () => {
    const [info] = await readCampaignLog(db.pool, campaignId, { contactKey: 'o:C-1' });
    assert.equal(info.level, 'INFO');
    assert.equal(info.source, 'strategy:DATA_LOAD');
    assert.equal(info.message, 'planning C-1');
    assert.deepEqual(info.details, { strategyId: loadId, strategyName: 'Planner', strategyVersion: 2, uploadId, row: 2 });

    const raised = await readCampaignLog(db.pool, campaignId, { contactKey: 'o:C-2', level: 'ERROR' });
    assert.equal(raised.length, 1);
    assert.equal(raised[0].message, 'Data Load strategy "Planner" v2 failed for contact o:C-2 (row 3); the row is not imported: ValueError: cannot plan 250');
    const details = raised[0].details as { strategyId: string; strategyName: string; strategyVersion: number; error: string; traceback: string; row: number };
    assert.equal(details.strategyId, loadId);
    assert.equal(details.strategyName, 'Planner');
    assert.equal(details.strategyVersion, 2);
    assert.equal(details.row, 3);
    assert.match(details.traceback, /File "strategy\.py", line 6, in run\n\s+raise ValueError/);

    const invalid = await readCampaignLog(db.pool, campaignId, { contactKey: 'o:C-3', level: 'ERROR' });
    assert.equal(invalid.length, 1);
    assert.match(invalid[0].message, /^Data Load strategy "Planner" v2 failed for contact o:C-3 \(row 4\); the row is not imported: InvalidContact: current_stage: unknown stage "No Such Stage"/);
    assert.equal((invalid[0].details as { strategyVersion: number }).strategyVersion, 2);

    // The failed rows (lines 3 and 4 of the file: the header is line 1) were not imported, and the report says why.
    assert.deepEqual(await store.readStream(contactStreamId(campaignId, 'o:C-2')), []);
    assert.deepEqual(await store.readStream(contactStreamId(campaignId, 'o:C-3')), []);
    const { rows } = await db.pool.query<{ row: number; message: string }>('select row, message from ingestion_upload_rejections where upload_id = $1 order by row', [uploadId]);
    assert.deepEqual(rows.map((r) => r.row), [3, 4]);
    assert.equal(rows[0].message, 'Data Load strategy failed: ValueError: cannot plan 250');
  });

  it('a later upload records the version then current; a failure on a stored contact leaves it unchanged and says so', async () => {
    // The first upload is over once the campaign heard of it (that frees the one-upload lock).
    await eventually(async () => (await store.readStream(campaignStreamId(campaignId))).some((e) => e.type === 'ContactsUploadCompleted'), { what: 'the first upload to be recorded' });
    const second = randomUUID();
    await store.append(campaignStreamId(campaignId), [
      newEvent('StrategyUpdated', { strategyId: loadId, name: 'Re-planner' }, meta),
      newEvent('StrategyFileReplaced', { strategyId: loadId, fileName: 'load.py', code: V3, version: 3 }, meta),
      newEvent('ContactsUploadStarted', { uploadId: second, fileName: 'again.csv' }, meta),
    ], 'any');
    const before = (await store.readStream(contactStreamId(campaignId, 'o:C-1'))).length;
    await db.pool.query(`insert into ingestion_uploads (id, workspace_id, campaign_id, file_name, state) values ($1, $2, $3, 'again.csv', 'queued')`, [second, ws, campaignId]);
    await db.pool.query('insert into ingestion_upload_chunks (upload_id, seq, data) values ($1, 0, $2)', [second, Buffer.from('object_id,name,email,amount_due\nC-1,Ann,ann@example.com,999\nC-4,Dan,dan@example.com,5\n')]);
    await uploaded(second);

    const [failure] = await readCampaignLog(db.pool, campaignId, { contactKey: 'o:C-1', level: 'ERROR' });
    assert.equal(failure.message, 'Data Load strategy "Re-planner" v3 failed for contact o:C-1 (row 2); the contact is unchanged: RuntimeError: amount changed to 999');
    assert.deepEqual({ ...(failure.details as object), traceback: undefined }, {
      strategyId: loadId, strategyName: 'Re-planner', strategyVersion: 3, uploadId: second, row: 2,
      error: 'RuntimeError: amount changed to 999', traceback: undefined,
    });
    assert.match((failure.details as { traceback: string }).traceback, /File "strategy\.py", line 4, in run/);
    assert.equal((await store.readStream(contactStreamId(campaignId, 'o:C-1'))).length, before, 'the stored contact is unchanged');
    const [created] = await store.readStream(contactStreamId(campaignId, 'o:C-4'));
    assert.equal(created.type, 'ContactCreated');
    assert.equal(created.metadata.strategyVersion, 3);
    assert.equal(created.metadata.strategyId, loadId);
  });
});
