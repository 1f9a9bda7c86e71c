// What an edge node keeps while its data cannot go out (primary host offline, link down): the
// changes it would have sent, in the store-and-forward outbox (SQLite), replayed in order as
// historical DDATA once the node is born again.
import type { Quality, TagValue } from '../../drivers/types.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/db.js';
import { Outbox, type OutboxLimits } from '../bridge/outbox/outbox.js';

export interface HistoryRecord {
  /** Sparkplug device id. */
  device: string;
  samples: { tag: string; ts: number; quality: Quality; value: TagValue | null }[];
}

export interface History {
  append(record: HistoryRecord): void;
  /**
   * Hands every kept record to `send`, oldest first, removing each; records appended meanwhile
   * are replayed too, so nothing kept is left behind once this resolves.
   */
  replay(send: (record: HistoryRecord) => void): Promise<void>;
  close(): Promise<void>;
}

export const HISTORY_LIMITS: OutboxLimits = {
  maxMessages: 100_000,
  maxBytes: 256 * 1024 * 1024,
  maxAgeSec: 0,
  dropPolicy: 'drop-oldest',
};

const PAGE = 500;

export class OutboxHistory implements History {
  /** Appended and not yet committed (a page read cannot see them yet). */
  private uncommitted = 0;

  private constructor(private readonly outbox: Outbox) {}

  static async open(
    db: Database,
    name: string,
    log: Logger,
    limits = HISTORY_LIMITS,
  ): Promise<OutboxHistory> {
    const holder: { history?: OutboxHistory } = {};
    const outbox = await Outbox.open(db, `sparkplug:${name}`, limits, {
      onCommitted: (batch) => {
        if (holder.history) holder.history.uncommitted -= batch.length;
      },
      onDropped: (count, reason) => {
        if (reason === 'write-failed' && holder.history) holder.history.uncommitted -= count;
        log.warn({ count, reason }, `sparkplug ${name}: historical data dropped`);
      },
      onError: (err, during) => log.error({ err }, `sparkplug ${name}: ${during} failed`),
    });
    holder.history = new OutboxHistory(outbox);
    return holder.history;
  }

  append(record: HistoryRecord): void {
    this.uncommitted++;
    this.outbox.append({
      topic: record.device,
      payload: Buffer.from(JSON.stringify(record)),
      qos: 0,
      retain: false,
    });
  }

  async replay(send: (record: HistoryRecord) => void): Promise<void> {
    let after = 0;
    for (let round = 0; round < 1_000_000; round++) {
      await this.outbox.drain();
      const page = await this.outbox.page(after, PAGE);
      if (page.length === 0) {
        if (this.uncommitted <= 0) return;
        continue;
      }
      for (const row of page) {
        after = row.seq;
        if (this.outbox.isDelivered(row.seq)) continue;
        send(JSON.parse(row.payload.toString('utf8')) as HistoryRecord);
        this.outbox.remove(row.seq);
      }
    }
  }

  async close(): Promise<void> {
    await this.outbox.close();
  }
}
