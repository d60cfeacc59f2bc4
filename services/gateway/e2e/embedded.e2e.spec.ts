import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort, startService, startSmtpServer, type ServiceProcess } from '@herald/testing';
import { api, runWalkingSkeleton } from './walking-skeleton';

// `npm start` with no configuration: one process, embedded database in a data folder, the event log as bus.
describe('walking skeleton, embedded mode (one process)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let herald: ServiceProcess;
  let base: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-e2e-'));

  before(async () => {
    smtp = await startSmtpServer();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    herald = startService('gateway', { PORT: String(port), HERALD_DATA_DIR: dataDir });
    await eventually(async () => (await api(base, 'GET', '/health')).status === 200, { what: `the embedded platform to start\n${herald.output()}`, timeoutMs: 60_000 });
  });

  after(async () => {
    await herald?.kill();
    await smtp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, configures, uploads, starts and sees the contact through to its outcome', async (t) => {
    try {
      await runWalkingSkeleton(base, smtp);
    } catch (error) {
      t.diagnostic(herald.output().slice(-5000));
      throw error;
    }
  });
});
