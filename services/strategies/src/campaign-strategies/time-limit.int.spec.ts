import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { campaignStreamId, newEvent, type ContactSnapshot } from '@herald/contracts';
import { PostgresEventStore } from '@herald/event-store';
import type { HeraldConfig } from '@herald/service-defaults';
import { createTestDatabase, type TestDatabase } from '@herald/testing';
import { StrategiesService } from '../strategies.service';
import { CampaignStrategies } from './campaign-strategies';

// The wall-time limit of a strategy call when the campaign sets none: 5 s. Rather than wait 5 s for a
// timeout, the strategy reads the deadline the worker armed for its own call (runner.py's `_timeout_ms`
// and `_deadline`, the values its timer enforces: a strategy can read its interpreter's globals anyway).
// hooks/strategy-hooks.int.spec.ts shows the same deadline firing ("exceeded 300 ms") for a campaign that sets 0.3 s.
const PROBE = `
import sys
import time


def run(contact, existing_contact, logger, **kwargs):
    worker = sys.modules["__main__"]
    contact.internal_data["budget_ms"] = worker._timeout_ms
    contact.internal_data["left_ms"] = round((worker._deadline - time.monotonic()) * 1000)
    return contact
`;

describe('strategy wall-time limit', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let service: StrategiesService;
  const ws = 'ws-time-limit';
  const meta = { workspaceId: ws };
  const campaignId = randomUUID();
  const row: ContactSnapshot = {
    objectId: 'T-1', externalId: null, name: 'Tim', email: 'tim@example.com', phone: null, parameters: {}, currentStage: null,
    outcome: 'UNCERTAIN', results: {}, internalData: {}, communications: [], createdAt: new Date().toISOString(),
  };
  const probe = async () => {
    const [result] = (await service.runDataLoad(ws, campaignId, [{ contact: row, existing: null }])).results;
    if (!result.ok) assert.fail(`${result.error}\n${result.traceback}`);
    return (result.contact as { internalData: { budget_ms: number; left_ms: number } }).internalData;
  };

  before(async () => {
    db = await createTestDatabase();
    store = await PostgresEventStore.create(db.pool, { pollIntervalMs: 20 });
    await store.append(campaignStreamId(campaignId), [
      newEvent('CampaignCreated', { campaignId, name: 'No settings', description: 'd', labels: [] }, meta),
      newEvent('StrategyAdded', { strategy: { id: randomUUID(), name: 'Probe', description: 'd', type: 'DATA_LOAD', functionName: 'run', fileName: 'probe.py', code: PROBE, version: 1 } }, meta),
    ], 'no_stream');
    // As the service is built in the platform: no time limit of its own in the runner's options.
    service = new StrategiesService(store, { strategyWorkers: 1 } as HeraldConfig);
  });

  after(async () => {
    await service.onApplicationShutdown();
    await store.close();
    await db.drop();
  });

  it('is 5 s for a campaign without strategyTimeoutSeconds: the options the service passes and the deadline the worker arms', async () => {
    const campaign = await service.campaigns.load(ws, campaignId);
    assert.equal(campaign.settings.strategyTimeoutSeconds, undefined);
    assert.equal(CampaignStrategies.runOptions(campaign).timeoutMs, 5000);
    const seen = await probe();
    assert.equal(seen.budget_ms, 5000);
    assert.ok(seen.left_ms > 4000 && seen.left_ms <= 5000, `${seen.left_ms} ms left of the call's budget`);
  });

  it('follows the campaign\'s setting once there is one, and falls back to 5 s on a value it cannot use', async () => {
    await store.append(campaignStreamId(campaignId), [newEvent('CampaignSettingsChanged', { settings: { strategyTimeoutSeconds: 2 } }, meta)], 'any');
    const seen = await probe();
    assert.equal(seen.budget_ms, 2000);
    assert.ok(seen.left_ms > 1000 && seen.left_ms <= 2000, `${seen.left_ms} ms left of the call's budget`);
    const campaign = await service.campaigns.load(ws, campaignId);
    for (const strategyTimeoutSeconds of [0, -1, Number.NaN, 'soon']) {
      const settings = { ...campaign.settings, strategyTimeoutSeconds } as unknown as typeof campaign.settings;
      assert.equal(CampaignStrategies.runOptions({ ...campaign, settings }).timeoutMs, 5000, `strategyTimeoutSeconds ${String(strategyTimeoutSeconds)}`);
    }
  });
});
