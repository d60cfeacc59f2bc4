import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Pool } from 'pg';
import { PostgresEventStore, type EventStore } from '@herald/event-store';
import { EVENT_STORE, loadConfig, POSTGRES_SESSION_OPTIONS, useSystemScope } from '@herald/service-defaults';

/**
 * Read access to the event log for the replay and time-travel routes.
 * Embedded, the gateway shares the process's event store. Distributed, the
 * gateway owns no state, so it opens a small read-only pool on DATABASE_URL
 * (the log is the one thing every consumer may read).
 */
@Injectable()
export class HistoryReader implements OnApplicationShutdown {
  private own: { pool: Pool; store: Promise<EventStore> } | null = null;

  constructor(@Optional() @Inject(EVENT_STORE) private readonly shared?: EventStore) {}

  store(): Promise<EventStore> {
    if (this.shared) return Promise.resolve(this.shared);
    if (!this.own) {
      const url = loadConfig().databaseUrl;
      if (!url) throw new Error('no event store: set DATABASE_URL');
      const pool = useSystemScope(new Pool({ connectionString: url, max: 4, application_name: 'herald-gateway-history', options: POSTGRES_SESSION_OPTIONS }));
      pool.on('error', () => undefined);
      this.own = { pool, store: PostgresEventStore.create(pool, { notify: false }) };
    }
    return this.own.store;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.own?.pool.end().catch(() => undefined);
  }
}
