import { after, before, describe, it } from 'node:test';
import { startSmtpServer } from '@herald/testing';
import { startDistributed, type DistributedPlatform } from './harness';
import { runWalkingSkeleton } from './walking-skeleton';

// Six processes over the machine's PostgreSQL and a real Kafka broker (deploy/local/kafka.sh start),
// connected as the database's owner, not a superuser, so that row-level security binds them as in production.
describe('walking skeleton, distributed mode (six processes, Kafka + PostgreSQL)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let platform: DistributedPlatform;

  before(async () => {
    smtp = await startSmtpServer();
    platform = await startDistributed();
  });

  after(async () => {
    await platform?.stop();
    await smtp?.close();
  });

  it('creates, configures, uploads, starts and sees the contact through to its outcome', async (t) => {
    try {
      await runWalkingSkeleton(platform.base, smtp);
    } catch (error) {
      t.diagnostic(platform.logs());
      throw error;
    }
  });
});
