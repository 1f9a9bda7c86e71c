// Retained messages in SQLite (component 'broker'). Writes are queued and flushed together in one
// transaction per tick, so a burst of retained publishes costs one commit, not one per message.
import type { Database } from './db.js';
import { brokerMigrations } from '../broker/store-schema.js';

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

export class RetainedStore {
  /** Latest pending write per topic: a message to store, or null to delete. */
  private pending = new Map<string, StoredRetained | null>();
  private flushing: Promise<void> | null = null;
  private scheduled = false;

  private constructor(private readonly db: Database) {}

  static async open(db: Database): Promise<RetainedStore> {
    await db.migrate('broker', brokerMigrations);
    return new RetainedStore(db);
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

  set(message: StoredRetained): void {
    this.pending.set(message.topic, message);
    this.schedule();
  }

  delete(topic: string): void {
    this.pending.set(topic, null);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush().catch(() => undefined);
    });
  }

  /** Writes everything queued so far; resolves once it is committed. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.db
      .transaction(async () => {
        const writes: Promise<unknown>[] = [];
        for (const [topic, message] of batch) {
          if (message === null) writes.push(this.db.run('DELETE FROM retained WHERE topic = ?', [topic]));
          else {
            writes.push(
              this.db.run(
                'INSERT INTO retained (topic, payload, qos, properties, expires_at) VALUES (?, ?, ?, ?, ?) ' +
                  'ON CONFLICT(topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos, ' +
                  'properties = excluded.properties, expires_at = excluded.expires_at',
                [topic, message.payload, message.qos, message.properties, message.expiresAt],
              ),
            );
          }
        }
        await Promise.all(writes);
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }
}
