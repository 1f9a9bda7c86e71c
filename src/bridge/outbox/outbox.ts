// The bridge outbox: messages waiting for an upstream broker, on disk (SQLite, WAL) so a lost link,
// a restart or a power cut loses nothing that was committed. One instance per bridge; rows are
// keyed (bridge, seq) so each bridge pages its own queue in order without touching the others'.
import path from 'node:path';
import { NotStoredError } from '../../broker/api.js';
import type { Database, Queryable, Statement } from '../../store/db.js';
import { DiskReserve } from '../../store/disk-reserve.js';
import { GroupCommit } from '../../store/group-commit.js';
import { DELETE_CHUNK, OutboxDeletes, type Removed } from './deletes.js';
import {
  encodeProperties,
  fromRow,
  INSERT_SQL,
  insertParams,
  isDiskFull,
  type PendingRow,
  type Row,
} from './outbox-rows.js';
import { RecentRows } from './recent-rows.js';
import { OutboxTally } from './tally.js';
import type {
  DropReason,
  OutboxHooks,
  OutboxLimits,
  OutboxMessage,
  OutboxStats,
  StoredMessage,
} from './types.js';

export { toRanges } from './outbox-rows.js';
export { MIGRATIONS, migrateOutbox } from './schema.js';
export type * from './types.js';

const MAX_FLUSH = 5000; // rows per group commit, so one commit never grows without bound
const MAX_PENDING = 100_000; // rows held in memory while the disk falls behind
/**
 * Rows just committed, kept so the cursor does not read back from disk what it was just handed
 * (a commit left to it while the inflight window was full). One cursor page: rows kept longer
 * (10,000 before) outlived two young-generation collections at live rates, so every row and its
 * payload was promoted and died in the old generation, and a full collection ran every ~0.4 s at
 * 25,000 msg/s. A cursor further behind reads the disk, as a drain does.
 */
const RECENT_MAX = 1000;

/** Messages that go to disk in one transaction, and the commit their publishers wait for. */
interface PendingBatch {
  rows: PendingRow[];
  commit: GroupCommit;
}

export class Outbox {
  private pending: PendingBatch[] = [];
  private pendingRows = 0;
  private pendingBytes = 0;
  private readonly reserve: DiskReserve;
  private readonly deletes: OutboxDeletes;
  /** The last refusal, shared by every message it refuses until the reason changes. */
  private refusal: { key: DropReason; promise: Promise<void> } | undefined;
  /** The latest committed rows, consecutive seqs, oldest first. */
  private readonly recent = new RecentRows(RECENT_MAX);
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private readonly insertStatement: Statement;
  private readonly pageStatement: Statement;
  private closed = false;
  private readonly tally: OutboxTally;

  private constructor(
    private readonly db: Database,
    private readonly bridgeId: number,
    private readonly limits: OutboxLimits,
    private readonly hooks: OutboxHooks,
    private nextSeq: number,
  ) {
    this.handedThrough = nextSeq - 1;
    this.reserve = new DiskReserve(
      path.dirname(db.file),
      limits.minFreeBytes ?? 0,
      `${db.file}-reserve-${bridgeId}`,
      () => this.freePageBytes(),
    );
    this.tally = new OutboxTally(db, bridgeId, hooks);
    this.deletes = new OutboxDeletes(db, bridgeId, this.reserve, {
      removed: (count, bytes) => this.tally.removed(count, bytes),
      onError: (err, during, items) => hooks.onError(err, during, items),
      commitComing: () => this.flushing !== undefined || this.pending.length > 0,
    });
    this.insertStatement = db.prepare(INSERT_SQL);
    this.pageStatement = db.prepare(
      'SELECT seq, ts, topic, payload, flags, props, bytes FROM outbox_messages WHERE bridge_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
  }

  /** Opens the outbox of one bridge, resuming whatever backlog the database holds. */
  static async open(db: Database, bridge: string, limits: OutboxLimits, hooks: OutboxHooks): Promise<Outbox> {
    await db.run('INSERT INTO outbox_bridges (name) VALUES (?) ON CONFLICT(name) DO NOTHING', [bridge]);
    const idRow = await db.get<{ id: number }>('SELECT id FROM outbox_bridges WHERE name = ?', [bridge]);
    if (!idRow) throw new Error(`outbox of bridge ${bridge}: cannot register the bridge`);
    const totals = await db.get<{ n: number; bytes: number; last: number | null }>(
      'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes, max(seq) AS last FROM outbox_messages WHERE bridge_id = ?',
      [idRow.id],
    );
    const outbox = new Outbox(db, idRow.id, limits, hooks, (totals?.last ?? 0) + 1);
    await outbox.tally.opened(totals?.n ?? 0, totals?.bytes ?? 0);
    await outbox.reserve.refresh();
    if (limits.maxAgeSec > 0) {
      outbox.ageTimer = setInterval(
        () => outbox.expire(),
        Math.min(10_000, Math.max(1000, limits.maxAgeSec * 100)),
      );
      outbox.ageTimer.unref();
    }
    return outbox;
  }

  /**
   * Queues a message for the next group commit; `onCommitted` reports it once durable. Returns
   * that commit (shared by the whole batch): it rejects with a NotStoredError when the message is
   * refused (drop-newest bound, disk reserve, too much waiting for the disk) or its write failed.
   */
  append(msg: OutboxMessage): Promise<void> {
    if (this.closed) throw new Error('outbox is closed');
    const props = encodeProperties(msg.properties) ?? null;
    const bytes = Buffer.byteLength(msg.topic) + msg.payload.length + (props ? Buffer.byteLength(props) : 0);
    const refused = this.refuse(bytes);
    if (refused) return refused;
    const row: PendingRow = {
      topic: msg.topic,
      payload: msg.payload,
      qos: msg.qos,
      retain: msg.retain,
      seq: 0,
      ts: 0,
      bytes,
      props,
    };
    if (msg.properties) row.properties = msg.properties;
    let batch = this.pending[this.pending.length - 1];
    if (!batch || batch.rows.length >= MAX_FLUSH) {
      batch = { rows: [], commit: new GroupCommit() };
      this.pending.push(batch);
    }
    batch.rows.push(row);
    this.pendingRows++;
    this.pendingBytes += bytes;
    this.scheduleFlush();
    return batch.commit.promise;
  }

  /** Why a message of `bytes` cannot be taken now (a rejected commit), or undefined. */
  private refuse(bytes: number): Promise<void> | undefined {
    let reason: DropReason | undefined;
    if (this.pendingRows >= MAX_PENDING) reason = 'write-failed';
    else if (this.limits.dropPolicy === 'drop-newest') {
      if (this.tally.messages + this.pendingRows + 1 > this.limits.maxMessages) reason = 'max-messages';
      else if (this.tally.bytes + this.pendingBytes + bytes > this.limits.maxBytes) reason = 'max-bytes';
    }
    if (!reason && !this.reserve.take(bytes)) reason = 'disk-reserve';
    if (!reason) return undefined;
    this.tally.dropped(1, reason);
    if (this.refusal?.key !== reason) {
      const why: Record<DropReason, string> = {
        'write-failed': `more than ${MAX_PENDING} messages wait for the disk`,
        'max-messages': `it holds its maximum of ${this.limits.maxMessages} messages`,
        'max-bytes': `it holds its maximum of ${this.limits.maxBytes} bytes`,
        'max-age': 'too old',
        'disk-reserve': this.reserve.describe(),
      };
      const promise = Promise.reject(new NotStoredError('quota', `outbox full: ${why[reason]}`));
      promise.catch(() => undefined);
      this.refusal = { key: reason, promise };
    }
    return this.refusal.promise;
  }

  /** Bytes of free pages inside the database file, which new rows reuse before it grows. */
  private async freePageBytes(): Promise<number> {
    const pages = await this.db.get<{ freelist_count: number }>('PRAGMA freelist_count');
    const size = await this.db.get<{ page_size: number }>('PRAGMA page_size');
    return (pages?.freelist_count ?? 0) * (size?.page_size ?? 4096);
  }

  /**
   * Up to `limit` stored messages after `afterSeq`, in order. Never loads more than a page.
   * Neither delivered rows (their delete may still be pending) nor dropped ones are returned.
   */
  async page(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    // Delivered rows waiting for their delete are left out; a page is empty only at the end.
    for (;;) {
      let rows = await this.storedPage(afterSeq, limit);
      // Rows SQLite has committed but onCommitted has not been told of yet (a read on another
      // thread can finish before the commit's callback runs) are left for onCommitted: else the
      // cursor sends them, and the live path sends them again.
      const last = rows[rows.length - 1];
      if (last && last.seq > this.handedThrough) rows = rows.filter((m) => m.seq <= this.handedThrough);
      if (rows.length === 0 || this.deletes.deliveredCount === 0) return rows;
      const kept = rows.filter((m) => !this.deletes.isDelivered(m.seq));
      if (kept.length > 0) return kept;
      afterSeq = rows[rows.length - 1]!.seq;
    }
  }

  private async storedPage(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const recent = this.recent.after(afterSeq, limit);
    if (recent) return recent;
    const rows = await this.pageStatement.all<Row>([this.bridgeId, afterSeq, limit]);
    return rows.map(fromRow);
  }

  /** The newest seq of each topic in the store (at most `limit` topics), for per-topic ordering. */
  async topicHeads(limit: number): Promise<Map<string, number>> {
    const rows = await this.db.all<{ topic: string; seq: number }>(
      'SELECT topic, max(seq) AS seq FROM outbox_messages WHERE bridge_id = ? GROUP BY topic LIMIT ?',
      [this.bridgeId, limit],
    );
    return new Map(rows.map((r) => [r.topic, r.seq]));
  }

  /** Marks messages delivered; they are deleted in batches. */
  remove(seq: number): void {
    this.deletes.markDelivered(seq);
  }

  /**
   * True for a message marked delivered whose row may not be deleted yet: a page read meanwhile
   * (after a reconnect) still returns it, and it must not be sent again.
   */
  isDelivered(seq: number): boolean {
    return this.deletes.isDelivered(seq);
  }

  getStats(): OutboxStats {
    return this.tally.snapshot();
  }

  /** Highest seq handed to `onCommitted` so far (0 before any). */
  get committedThrough(): number {
    return this.lastCommitted;
  }
  private lastCommitted = 0;
  /** Highest seq a page may return: what was on disk at open, then what onCommitted was given. */
  private handedThrough: number;

  /** Commits what is pending, applies deletes, stops timers. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.ageTimer) clearInterval(this.ageTimer);
    await this.drain();
    this.deletes.stop();
    this.tally.stop();
    this.closed = true;
    await Promise.all([this.pageStatement, this.insertStatement].map((s) => s.finalize()));
  }

  /**
   * Waits until every appended message is committed (or refused) and every queued delete was
   * tried; deletes that failed stay queued for a retry.
   */
  async drain(): Promise<void> {
    let deletesTried = false;
    for (let round = 0; round < 1000; round++) {
      if (this.flushing) await this.flushing;
      else if (this.deletes.busy) await this.deletes.busy;
      else if (this.pending.length > 0) await this.flush();
      else if (this.deletes.queued > 0 && !deletesTried) {
        deletesTried = true;
        await this.deletes.flush();
      } else if (this.tally.busy) await this.tally.busy;
      else return;
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.flushing) return;
    this.flushTimer = setImmediate(() => void this.flush());
  }

  private flush(): Promise<void> {
    this.flushTimer = undefined;
    if (this.flushing) return this.flushing;
    this.flushing = this.writePending().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0 && !this.closed) this.scheduleFlush();
    });
    return this.flushing;
  }

  /** Writes the oldest pending batch in one transaction: all of it is committed, or none. */
  private async writePending(): Promise<void> {
    const batch = this.pending.shift();
    if (!batch) return;
    const rows = batch.rows;
    this.pendingRows -= rows.length;
    for (const m of rows) this.pendingBytes -= m.bytes;
    const now = Date.now();
    const firstSeq = this.nextSeq;
    for (const m of rows) {
      m.seq = this.nextSeq++;
      m.ts = now;
    }
    // Acknowledged rows go in the same transaction: one sync for both.
    const carried = this.deletes.takeDue();
    let removed: Removed | undefined;
    try {
      if (carried.length === 0) await this.insertRows(rows);
      else {
        try {
          removed = await this.db.transaction(async (tx) => {
            await this.insertRows(rows, tx);
            return this.deletes.inTransaction(carried, tx);
          });
        } catch {
          // Nothing of it was applied. The rows go again alone; the deletes take their own path,
          // which copes with a full disk.
          this.deletes.notCarried(carried);
          await this.insertRows(rows);
        }
      }
    } catch (err) {
      // Rolled back: nothing of the batch is stored, and its publishers are told so.
      if (this.nextSeq === firstSeq + rows.length) this.nextSeq = firstSeq;
      const full = isDiskFull(err);
      if (full) this.reserve.full();
      this.tally.dropped(rows.length, 'write-failed');
      const message = `outbox write failed: ${(err as Error).message}`;
      batch.commit.reject(new NotStoredError(full ? 'quota' : 'storage', message, { cause: err }));
      this.hooks.onError(err as Error, 'writing the outbox', rows.length);
      return;
    }
    if (removed) this.deletes.carried(carried, removed);
    this.tally.committed(rows);
    this.lastCommitted = this.handedThrough = rows[rows.length - 1]!.seq;
    this.recent.add(rows);
    batch.commit.resolve();
    this.hooks.onCommitted(rows);
    if (this.limits.dropPolicy === 'drop-oldest') {
      await this.dropOldest().catch((err: Error) =>
        this.hooks.onError(err, 'dropping the oldest outbox messages', 0),
      );
    }
  }

  /** Inserts `rows` (consecutive seqs) in one statement, atomic by itself (or in the caller's transaction). */
  private async insertRows(rows: readonly PendingRow[], on: Queryable = this.db): Promise<void> {
    await this.insertStatement.run(insertParams(this.bridgeId, rows), on);
  }

  private async dropOldest(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const overMessages = this.tally.messages - this.limits.maxMessages;
      const overBytes = this.tally.bytes - this.limits.maxBytes;
      if (overMessages <= 0 && overBytes <= 0) return;
      const average = this.tally.bytes / Math.max(1, this.tally.messages);
      const count = Math.max(overMessages, Math.ceil(overBytes / Math.max(1, average)), 1);
      const removed = await this.deletes.where(
        'seq IN (SELECT seq FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT ?)',
        [this.bridgeId, count],
      );
      if (removed === 0) return;
      this.recent.clear(); // dropped rows must not be served from memory
      this.tally.dropped(removed, overMessages > 0 ? 'max-messages' : 'max-bytes');
    }
  }

  private expire(): void {
    const oldestTs = this.tally.oldestTs;
    if (this.closed || oldestTs === undefined || this.flushing) return;
    const cutoff = Date.now() - this.limits.maxAgeSec * 1000;
    if (oldestTs >= cutoff) return;
    this.flushing = (async () => {
      for (let round = 0; round < 1000; round++) {
        const removed = await this.deletes.where(
          'seq IN (SELECT seq FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT ?) AND ts < ?',
          [this.bridgeId, DELETE_CHUNK, cutoff],
        );
        if (removed > 0) {
          this.recent.clear(); // dropped rows must not be served from memory
          this.tally.dropped(removed, 'max-age');
        }
        if (removed < DELETE_CHUNK) break;
      }
    })()
      .catch((err: Error) => this.hooks.onError(err, 'expiring old outbox messages', 0))
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.scheduleFlush();
      });
  }

  /** Forgets the in-memory copy of recent rows (after a reconnect, so only the disk says what is left). */
  forgetRecent(): void {
    this.recent.clear();
  }
}
