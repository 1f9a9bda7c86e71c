// Retained messages in SQLite (component 'broker'). Writes are queued and flushed together in one
// transaction per tick, so a burst of retained publishes costs one commit, not one per message.
// A failed commit is reported to those who wait for it (a publisher is then not acknowledged),
// logged with counts.
import { NotStoredError } from '../api.js';
import { BrokerTable } from './migrations.js';
import type { Logger } from '../../log.js';
import type { Database } from '../../store/db.js';
import { GroupCommit } from '../../store/group-commit.js';

export interface StoredRetained {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  /** MQTT 5 properties as JSON (correlation data base64), or null. */
  properties: string | null;
  /** Epoch ms when the message expires (v5 message expiry), or null. */
  expiresAt: number | null;
}

interface RetainedRow {
  topic: string;
  payload: Buffer;
  qos: number;
  properties: string | null;
  expires_at: number | null;
}

const RETRY_MS = 1000;

export class RetainedStore extends BrokerTable {
  /** Latest pending write per topic: a message to store, or null to delete. */
  private pending = new Map<string, StoredRetained | null>();
  /** The commit the pending writes wait for. */
  private commit: GroupCommit | null = null;
  private flushing: Promise<void> | null = null;
  private immediate: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(db: Database, log: Logger) {
    super(db, log, 'writing retained messages');
  }

  static async open(db: Database, log: Logger): Promise<RetainedStore> {
    await BrokerTable.migrate(db);
    return new RetainedStore(db, log);
  }

  async loadAll(): Promise<StoredRetained[]> {
    const rows = await this.db.all<RetainedRow>(
      'SELECT topic, payload, qos, properties, expires_at FROM retained',
    );
    return rows.map((r) => ({
      topic: r.topic,
      payload: r.payload ?? Buffer.alloc(0),
      qos: (r.qos === 1 || r.qos === 2 ? r.qos : 0) as 0 | 1 | 2,
      properties: r.properties,
      expiresAt: r.expires_at,
    }));
  }

  /** Queues a write; the promise resolves once it is committed (rejects if that commit failed). */
  set(message: StoredRetained): Promise<void> {
    this.pending.set(message.topic, message);
    return this.queued();
  }

  delete(topic: string): Promise<void> {
    this.pending.set(topic, null);
    return this.queued();
  }

  private queued(): Promise<void> {
    this.commit ??= new GroupCommit();
    if (!this.immediate && !this.retryTimer && !this.flushing)
      this.immediate = setImmediate(() => void this.flush());
    return this.commit.promise;
  }

  /**
   * Writes everything queued so far; resolves once it is committed. A failed batch rejects what
   * waits for it; its deletions stay queued and are tried again.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.stopTimers();
    if (this.pending.size === 0) return;
    const batch = this.pending;
    const commit = this.commit!;
    this.pending = new Map();
    this.commit = null;
    this.flushing = this.write(batch)
      .then(
        () => {
          this.failures.succeeded();
          commit.resolve();
        },
        (err: Error) => {
          this.failures.failed(err, batch.size);
          commit.reject(
            new NotStoredError('storage', `retained message not stored: ${err.message}`, { cause: err }),
          );
          // Deletions are tried again (a cleared message must not come back after a restart);
          // messages are not: their publishers were refused and send them again, and retrying the
          // bulk of a full disk's writes would take whatever room a delete frees elsewhere.
          for (const [topic, message] of batch)
            if (message === null && !this.pending.has(topic)) this.pending.set(topic, null);
        },
      )
      .finally(() => {
        this.flushing = null;
        if (this.pending.size > 0 && !this.retryTimer && !this.closed) {
          this.commit ??= new GroupCommit();
          this.retryTimer = setTimeout(() => void this.flush(), RETRY_MS);
          this.retryTimer.unref();
        }
      });
    await this.flushing;
  }

  private write(batch: Map<string, StoredRetained | null>): Promise<void> {
    return this.db.transaction(async (tx) => {
      const writes: Promise<unknown>[] = [];
      for (const [topic, message] of batch) {
        if (message === null) writes.push(tx.run('DELETE FROM retained WHERE topic = ?', [topic]));
        else {
          writes.push(
            tx.run(
              'INSERT INTO retained (topic, payload, qos, properties, expires_at) VALUES (?, ?, ?, ?, ?) ' +
                'ON CONFLICT(topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos, ' +
                'properties = excluded.properties, expires_at = excluded.expires_at',
              [topic, message.payload, message.qos, message.properties, message.expiresAt],
            ),
          );
        }
      }
      await Promise.all(writes);
    });
  }

  /** Stops retrying: the last flush on close said what it could not write. */
  close(): void {
    this.closed = true;
    this.stopTimers();
    this.failures.flush();
  }

  private stopTimers(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.immediate = this.retryTimer = undefined;
  }
}
