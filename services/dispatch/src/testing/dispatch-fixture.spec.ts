// Shared by the dispatch tests (the .spec.ts suffix lets it use @herald/testing; the runner only runs *.unit/int/e2e.spec.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { campaignStreamId, contactStreamId, newEvent, type JsonObject, type RecordedEvent } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import { StoreBus } from '@herald/bus';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import type { StageDefinition } from '@herald/campaign-model';
import { DispatchRuntime, type RuntimeOptions } from '../dispatch-runtime';
import { SecretBox } from '../secrets/secret-box';

/**
 * A dispatch runtime on a fresh test database (real PostgreSQL) with the
 * embedded bus, as `npm start` runs it; helpers to create a campaign and
 * start communications the way the scheduler does.
 */
export class DispatchFixture {
  readonly ws = `ws-${randomUUID().slice(0, 8)}`;
  private workers: { stop(): Promise<void> } | null = null;
  private bus: StoreBus | null = null;

  private constructor(readonly db: TestDatabase, readonly store: PostgresEventStore, readonly rt: DispatchRuntime) {}

  static async create(options: Partial<Pick<RuntimeOptions, 'publicUrl' | 'externalChannels' | 'inboundSmtp' | 'analysis'>> & { workers?: boolean; silenceCheckMs?: number } = {}): Promise<DispatchFixture> {
    const db = await createTestDatabase();
    const store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    const rt = new DispatchRuntime({ pool: db.pool, store, box: SecretBox.fromKey(randomBytes(32)), publicUrl: options.publicUrl ?? 'http://herald.test', externalChannels: options.externalChannels, inboundSmtp: options.inboundSmtp, analysis: options.analysis });
    await rt.ensureSchema();
    await rt.start();
    const f = new DispatchFixture(db, store, rt);
    if (options.workers !== false) {
      f.bus = new StoreBus(store);
      f.workers = await rt.startWorkers(f.bus, { silenceCheckMs: options.silenceCheckMs ?? 100 });
    }
    return f;
  }

  async close(): Promise<void> {
    await this.workers?.stop();
    await this.bus?.close();
    await this.rt.close();
    await this.store.close();
    await this.db.drop();
  }

  /** A campaign with these stages; returns its id. */
  async campaign(stages: Omit<StageDefinition, 'id'>[], settings: JsonObject = {}): Promise<string> {
    const campaignId = randomUUID();
    const meta = { workspaceId: this.ws };
    await this.store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'c', description: 'd', labels: [] }, meta),
      ...stages.map((stage, i) => newEvent('StageAdded', { stage: { id: `s${i}`, ...stage } }, meta)),
      ...(Object.keys(settings).length ? [newEvent('CampaignSettingsChanged', { settings }, meta)] : []),
    ], 'no_stream');
    return campaignId;
  }

  /** A contact with one communication started on `stageName` (as the scheduler appends it); returns the CommunicationStarted event. */
  async started(campaignId: string, stageName: string, channel: string, contact: { key?: string; name?: string | null; email?: string | null; phone?: string | null; parameters?: JsonObject } = {},
    extra: { agent?: string | null; variant?: string | null; communicationId?: string } = {}): Promise<RecordedEvent> {
    const key = contact.key ?? `o:${randomUUID().slice(0, 8)}`;
    const stream = contactStreamId(campaignId, key);
    const commId = extra.communicationId ?? randomUUID();
    const meta = { workspaceId: this.ws };
    await this.store.append(stream, [
      newEvent('ContactCreated', { campaignId, key, objectId: key, externalId: null, name: contact.name ?? 'Ann Lee', email: contact.email ?? null, phone: contact.phone ?? null, parameters: contact.parameters ?? {}, uploadId: null, row: 2 }, meta),
      newEvent('CommunicationPlanned', { communication: { id: commId, name: 'first', stageName, startDate: new Date().toISOString(), endDate: null } }, meta),
      newEvent('CommunicationStarted', { communicationId: commId, campaignId, contactKey: key, stageName, channel, agent: extra.agent ?? null, variant: extra.variant ?? null, startedAt: new Date().toISOString(), sessionId: null }, meta),
    ], 'no_stream');
    return (await this.store.readStream(stream))[2];
  }

  async events(streamId: string, type?: string): Promise<RecordedEvent[]> {
    return (await this.store.readStream(streamId)).filter((e) => !type || e.type === type);
  }

  async ends(streamId: string): Promise<Record<string, unknown>[]> {
    return (await this.events(streamId, 'CommunicationEnded')).map((e) => e.data as Record<string, unknown>);
  }
}

export interface RecordedRequest { method: string; url: string; headers: IncomingMessage['headers']; body: string; json: unknown }

/** A loopback HTTP server standing in for a provider: records requests and answers with `respond`. */
export async function startStandIn(respond: (req: RecordedRequest, res: ServerResponse) => void | Promise<void>, encoding: BufferEncoding = 'utf8'): Promise<{ url: string; requests: RecordedRequest[]; server: Server; close(): Promise<void> }> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString(encoding);
      let json: unknown = null;
      try { json = body ? JSON.parse(body) : null; } catch { json = null; }
      const r = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, json };
      requests.push(r);
      Promise.resolve(respond(r, res)).catch((e) => { res.statusCode = 500; res.end(String(e)); });
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`, requests, server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
