/**
 * The query queue of @electric-sql/pglite-socket, made safe for the
 * extended query protocol.
 *
 * pglite-socket 0.2.x interleaves the messages of different connections one
 * by one and keeps a connection exclusive only inside a transaction. node-pg
 * sends every parameterised query as Parse/Bind/Describe/Execute/Sync on the
 * unnamed statement, so two connections interleaving those messages bind each
 * other's statements ("bind message supplies 2 parameters, but prepared
 * statement requires 3") or read each other's rows. This queue keeps a
 * connection exclusive from its first extended-protocol message to its Sync,
 * and for the whole of a transaction, as a real server's separate backends
 * would. Same shape as the library's queue, installed on the server before it
 * accepts connections (see openDatabase).
 */
interface Entry {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (error: unknown) => void;
}

export interface PgliteLike {
  isInTransaction(): boolean;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<unknown>;
  exec(sql: string): Promise<unknown>;
}

/** Extended-protocol messages after which the connection must keep the backend until its Sync. */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H'].map((c) => c.charCodeAt(0)));

export class ProtocolSafeQueryQueue {
  private queue: Entry[] = [];
  private processing = false;
  /** The connection that owns the backend until its Sync or the end of its transaction. */
  private owner: number | null = null;
  /** The connection whose statement ran last (for a disconnect inside its transaction). */
  private last: number | null = null;

  constructor(private readonly db: PgliteLike) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((e) => {
      if (e.handlerId !== handlerId) return true;
      e.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner === handlerId || this.last === handlerId) {
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
      this.owner = null;
      this.last = null;
    }
    await this.process();
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.queue.length) {
        const index = this.owner === null ? 0 : this.queue.findIndex((e) => e.handlerId === this.owner);
        if (index < 0) return; // the owner's next message has not arrived yet
        const [entry] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(entry.message, { onRawData: (d) => { bytes += d.length; entry.onData(d); } }),
          );
        } catch (error) {
          this.owner = null;
          entry.reject(error);
          continue;
        }
        this.last = entry.handlerId;
        this.owner = this.db.isInTransaction() || EXTENDED.has(entry.message[0]) ? entry.handlerId : null;
        entry.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}
