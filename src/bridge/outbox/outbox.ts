// The bridge outbox: messages waiting for an upstream broker, on disk (SQLite, WAL) so a lost link,
// a restart or a power cut loses nothing that was committed. One instance per bridge; rows are
// keyed (bridge, seq) so each bridge pages its own queue in order without touching the others'.
import path from 'node:path';
import { NotStoredError, type MessageProperties, type QoS } from '../../broker/api.js';
import type { Database, Queryable, SqlParam, Statement, Transaction } from '../../store/db.js';
import { DiskReserve } from '../../store/disk-reserve.js';
import { GroupCommit } from '../../store/group-commit.js';
import {
  deleteRuns,
  encodeProperties,
  fromRow,
  INSERT_SQL,
  insertParams,
  isDiskFull,
  type PendingRow,
  type Row,
} from './outbox-rows.js';
import { RecentRows } from './recent-rows.js';

export { toRanges } from './outbox-rows.js';

export interface OutboxMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
}

export interface StoredMessage extends OutboxMessage {
  seq: number;
  /** Commit time, epoch ms. */
  ts: number;
  bytes: number;
}

export type DropPolicy = 'drop-oldest' | 'drop-newest';
export type DropReason = 'max-messages' | 'max-bytes' | 'max-age' | 'write-failed' | 'disk-reserve';

export interface OutboxLimits {
  maxMessages: number;
  maxBytes: number;
  /** 0: no age limit. */
  maxAgeSec: number;
  dropPolicy: DropPolicy;
  /** Bytes kept free on the data disk: below, new messages are refused. 0 or absent: no reserve. */
  minFreeBytes?: number;
}

export interface OutboxHooks {
  /** Rows now durable, in seq order: only from here on do they count as taken. */
  onCommitted(batch: readonly StoredMessage[]): void;
  onDropped(count: number, reason: DropReason): void;
  /** A storage operation failed; `items` messages were concerned. */
  onError(err: Error, during: string, items: number): void;
}

export interface OutboxStats {
  messages: number;
  bytes: number;
  /** Commit time of the oldest stored message, epoch ms. */
  oldestTs?: number;
  dropped: Record<DropReason, number>;
  committed: number;
}

export const MIGRATIONS = [
  `CREATE TABLE outbox_bridges (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
   CREATE TABLE outbox_messages (
     bridge_id INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
     topic TEXT NOT NULL, payload BLOB NOT NULL, flags INTEGER NOT NULL, props TEXT,
     bytes INTEGER GENERATED ALWAYS AS
       (length(CAST(topic AS BLOB)) + length(payload) + coalesce(length(CAST(props AS BLOB)), 0)) VIRTUAL,
     PRIMARY KEY (bridge_id, seq)) WITHOUT ROWID;`,
];

/** Creates or upgrades the outbox tables; call once per database before opening outboxes. */
export async function migrateOutbox(db: Database): Promise<void> {
  await db.migrate('outbox', MIGRATIONS);
}

const DELETE_CHUNK = 500;
const MAX_FLUSH = 5000; // rows per group commit, so one commit never grows without bound
const MAX_PENDING = 100_000; // rows held in memory while the disk falls behind
const RETRY_MS = 1000;
/**
 * Acknowledged rows are deleted in batches: once this many wait, or the oldest waited this long.
 * A group commit due then carries them (same transaction, no sync of their own); otherwise they go
 * alone. Not every commit carries them: a transaction costs three more round trips to SQLite's
 * thread than the lone INSERT that a commit is otherwise.
 */
const DELETE_LINGER_MS = 100;
const DELETE_BATCH = 2000;
const DELETE_RECHECK_MS = 10;
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
  /** Delivered seqs not deleted yet (queued, or a delete that failed): never served again. */
  private readonly delivered = new Set<number>();
  private deleteRetry: NodeJS.Timeout | undefined;
  /** Set once a failed delete released the disk reserve's ballast; cleared by a delete that works. */
  private reserveReleased = false;
  /** The last delete pass failed: the next one goes in small statements. */
  private deleteFailedLately = false;
  private readonly reserve: DiskReserve;
  /** The last refusal, shared by every message it refuses until the reason changes. */
  private refusal: { key: DropReason; promise: Promise<void> } | undefined;
  /** The latest committed rows, consecutive seqs, oldest first. */
  private readonly recent = new RecentRows(RECENT_MAX);
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private deletes: number[] = [];
  private deleting: Promise<void> | undefined;
  private deleteTimer: NodeJS.Timeout | undefined;
  /** When the oldest queued delete was queued (performance.now()). */
  private deletesSince = 0;
  private ageTimer: NodeJS.Timeout | undefined;
  private headQuery: Promise<void> | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private readonly insertStatement: Statement;
  private readonly pageStatement: Statement;
  private closed = false;
  private readonly stats: OutboxStats = {
    messages: 0,
    bytes: 0,
    dropped: { 'max-messages': 0, 'max-bytes': 0, 'max-age': 0, 'write-failed': 0, 'disk-reserve': 0 },
    committed: 0,
  };

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
    outbox.stats.messages = totals?.n ?? 0;
    outbox.stats.bytes = totals?.bytes ?? 0;
    await outbox.refreshHead();
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
      if (this.stats.messages + this.pendingRows + 1 > this.limits.maxMessages) reason = 'max-messages';
      else if (this.stats.bytes + this.pendingBytes + bytes > this.limits.maxBytes) reason = 'max-bytes';
    }
    if (!reason && !this.reserve.take(bytes)) reason = 'disk-reserve';
    if (!reason) return undefined;
    this.drop(1, reason);
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
      if (rows.length === 0 || this.delivered.size === 0) return rows;
      const kept = rows.filter((m) => !this.delivered.has(m.seq));
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
    if (this.deletes.length === 0) this.deletesSince = performance.now();
    this.deletes.push(seq);
    this.delivered.add(seq);
    if (this.deletes.length >= DELETE_BATCH && this.deleteTimer) {
      clearTimeout(this.deleteTimer);
      this.deleteTimer = undefined;
    }
    this.scheduleDeletes();
  }

  private scheduleDeletes(): void {
    if (this.deleteTimer || this.deleting || this.deleteRetry || this.closed) return;
    if (this.deletes.length === 0) return;
    const waited = performance.now() - this.deletesSince;
    const delay = this.deletes.length >= DELETE_BATCH ? 0 : Math.max(0, DELETE_LINGER_MS - waited);
    this.deleteTimer = setTimeout(() => this.deletesDue(), delay);
  }

  private deletesAreDue(): boolean {
    return (
      this.deletes.length >= DELETE_BATCH ||
      (this.deletes.length > 0 && performance.now() - this.deletesSince >= DELETE_LINGER_MS)
    );
  }

  /**
   * The linger is over: the next group commit takes the deletes when one is under way or queued
   * (looked at again shortly, in case none comes), else they go alone.
   */
  private deletesDue(): void {
    this.deleteTimer = undefined;
    if (this.canCarryDeletes() && (this.flushing || this.pending.length > 0))
      this.deleteTimer = setTimeout(() => this.deletesDue(), DELETE_RECHECK_MS);
    else void this.flushDeletes();
  }

  /** Deletes ride with inserts unless the last delete failed: then they go alone, in small pieces. */
  private canCarryDeletes(): boolean {
    return !this.deleteFailedLately && !this.reserveReleased;
  }

  /**
   * True for a message marked delivered whose row may not be deleted yet: a page read meanwhile
   * (after a reconnect) still returns it, and it must not be sent again.
   */
  isDelivered(seq: number): boolean {
    return this.delivered.has(seq);
  }

  getStats(): OutboxStats {
    return { ...this.stats, dropped: { ...this.stats.dropped } };
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
    if (this.deleteRetry) clearTimeout(this.deleteRetry);
    this.deleteRetry = undefined;
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    if (this.headTimer) clearTimeout(this.headTimer);
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
      else if (this.deleting) await this.deleting;
      else if (this.pending.length > 0) await this.flush();
      else if (this.deletes.length > 0 && !deletesTried) {
        deletesTried = true;
        await this.flushDeletes();
      } else if (this.headQuery) await this.headQuery;
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
    const carried = this.canCarryDeletes() && this.deletesAreDue() ? this.takeDeletes() : [];
    let removed: { count: number; bytes: number } | undefined;
    try {
      if (carried.length === 0) await this.insertRows(rows);
      else {
        try {
          removed = await this.db.transaction(async (tx) => {
            await this.insertRows(rows, tx);
            return this.deleteSeqs(carried, tx);
          });
        } catch {
          // Nothing of it was applied. The rows go again alone; the deletes take their own path,
          // which copes with a full disk.
          this.requeueDeletes(carried);
          this.deleteFailedLately = true;
          this.scheduleDeletes();
          await this.insertRows(rows);
        }
      }
    } catch (err) {
      // Rolled back: nothing of the batch is stored, and its publishers are told so.
      if (this.nextSeq === firstSeq + rows.length) this.nextSeq = firstSeq;
      const full = isDiskFull(err);
      if (full) this.reserve.full();
      this.drop(rows.length, 'write-failed');
      const message = `outbox write failed: ${(err as Error).message}`;
      batch.commit.reject(new NotStoredError(full ? 'quota' : 'storage', message, { cause: err }));
      this.hooks.onError(err as Error, 'writing the outbox', rows.length);
      return;
    }
    if (removed) {
      for (const seq of carried) this.delivered.delete(seq);
      this.removed(removed.count, removed.bytes);
    }
    if (this.stats.messages === 0) this.stats.oldestTs = rows[0]!.ts;
    for (const m of rows) this.stats.bytes += m.bytes;
    this.stats.messages += rows.length;
    this.stats.committed += rows.length;
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

  private requeueDeletes(seqs: readonly number[]): void {
    if (this.deletes.length === 0) this.deletesSince = performance.now();
    this.deletes.push(...seqs);
  }

  /** The queued deletes, handed over to the caller (and the linger timer stopped). */
  private takeDeletes(): number[] {
    const seqs = this.deletes;
    this.deletes = [];
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    return seqs;
  }

  /** Deletes delivered rows inside the caller's transaction; the counters are the caller's to update. */
  private async deleteSeqs(
    seqs: readonly number[],
    tx: Transaction,
  ): Promise<{ count: number; bytes: number }> {
    let count = 0;
    let bytes = 0;
    for (const run of deleteRuns(seqs, Number.MAX_SAFE_INTEGER, DELETE_CHUNK)) {
      const removed = await this.deleteRows(run.condition, run.params, tx);
      count += removed.count;
      bytes += removed.bytes;
    }
    return { count, bytes };
  }

  private async dropOldest(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const overMessages = this.stats.messages - this.limits.maxMessages;
      const overBytes = this.stats.bytes - this.limits.maxBytes;
      if (overMessages <= 0 && overBytes <= 0) return;
      const average = this.stats.bytes / Math.max(1, this.stats.messages);
      const count = Math.max(overMessages, Math.ceil(overBytes / Math.max(1, average)), 1);
      const removed = await this.deleteWhere(
        'seq IN (SELECT seq FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT ?)',
        [this.bridgeId, count],
      );
      if (removed === 0) return;
      this.recent.clear(); // dropped rows must not be served from memory
      this.drop(removed, overMessages > 0 ? 'max-messages' : 'max-bytes');
    }
  }

  private expire(): void {
    if (this.closed || this.stats.oldestTs === undefined || this.flushing) return;
    const cutoff = Date.now() - this.limits.maxAgeSec * 1000;
    if (this.stats.oldestTs >= cutoff) return;
    this.flushing = (async () => {
      for (let round = 0; round < 1000; round++) {
        const removed = await this.deleteWhere(
          'seq IN (SELECT seq FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT ?) AND ts < ?',
          [this.bridgeId, DELETE_CHUNK, cutoff],
        );
        if (removed > 0) {
          this.recent.clear(); // dropped rows must not be served from memory
          this.drop(removed, 'max-age');
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

  private async flushDeletes(): Promise<void> {
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    if (this.deleteRetry) clearTimeout(this.deleteRetry);
    this.deleteRetry = undefined;
    if (this.deleting || this.deletes.length === 0) return;
    const seqs = this.deletes;
    this.deletes = [];
    let failed = false;
    let released = false;
    this.deleting = (async () => {
      // Acknowledgements come mostly in order: contiguous runs go as one range, the rest as lists.
      // Each statement commits on its own. After a delete failed (a full disk), ranges are cut
      // into small statements too, so each needs little room in the WAL; otherwise a range is one
      // statement, one commit.
      const rangeChunk = this.canCarryDeletes() ? Number.MAX_SAFE_INTEGER : DELETE_CHUNK;
      for (const run of deleteRuns(seqs, rangeChunk, DELETE_CHUNK)) {
        if (!failed) {
          try {
            await this.deleteWhere(run.condition, run.params);
            this.reserveReleased = false;
            for (const seq of run.seqs) this.delivered.delete(seq);
            continue;
          } catch (err) {
            failed = true;
            this.deleteFailedLately = true;
            this.hooks.onError(err as Error, 'deleting delivered outbox messages', seqs.length);
            // The ballast gives its room to the deletes, tried again at once.
            if (isDiskFull(err) && !this.reserveReleased) {
              this.reserveReleased = released = true;
              await this.reserve.release();
            }
          }
        }
        // Tried again shortly (a full disk frees up): never served again meanwhile, and sent
        // again only if the gateway restarts before the delete goes through.
        this.requeueDeletes(run.seqs);
      }
    })().finally(() => {
      this.deleting = undefined;
      if (!failed) this.deleteFailedLately = false;
      if (this.deletes.length === 0 || this.closed) return;
      if (failed) {
        this.deleteRetry = setTimeout(() => void this.flushDeletes(), released ? 0 : RETRY_MS);
        this.deleteRetry.unref();
      } else this.scheduleDeletes();
    });
    return this.deleting;
  }

  /** Deletes this bridge's rows matching `condition`; keeps the counters exact. Returns the count. */
  private async deleteWhere(condition: string, params: readonly SqlParam[]): Promise<number> {
    const { count, bytes } = await this.db.transaction((tx) => this.deleteRows(condition, params, tx));
    this.removed(count, bytes);
    return count;
  }

  /**
   * Deletes this bridge's rows matching `condition` inside `tx`; returns how many and their bytes.
   * The totals come from one aggregate read in the same transaction, not from `RETURNING bytes`:
   * that hands every deleted row to JavaScript as an object (2,000 per batch of acknowledgements),
   * which cost about a fifth of the outbox's CPU per forwarded message.
   */
  private async deleteRows(
    condition: string,
    params: readonly SqlParam[],
    tx: Transaction,
  ): Promise<{ count: number; bytes: number }> {
    const where = `FROM outbox_messages WHERE bridge_id = ? AND ${condition}`;
    const bound = [this.bridgeId, ...params];
    const totals = await tx.get<{ n: number; bytes: number }>(
      `SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes ${where}`,
      bound,
    );
    const { changes } = await tx.run(`DELETE ${where}`, bound);
    if (changes !== totals?.n)
      throw new Error(`outbox delete: ${changes} rows deleted where ${totals?.n ?? 0} were counted`);
    return { count: changes, bytes: totals.bytes };
  }

  /** Counts rows gone from the store (delivered, dropped or expired). */
  private removed(count: number, bytes: number): void {
    if (count === 0) return;
    this.stats.messages -= count;
    this.stats.bytes -= bytes;
    if (this.stats.messages === 0) this.stats.oldestTs = undefined;
    else this.scheduleHeadRefresh();
  }

  /** The oldest message's time, re-read at most a few times a second (it only feeds the status). */
  private scheduleHeadRefresh(): void {
    if (this.headTimer || this.closed) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      void this.refreshHead();
    }, 250);
    this.headTimer.unref();
  }

  private refreshHead(): Promise<void> {
    if (this.headQuery) return this.headQuery;
    this.headQuery = this.db
      .get<{ ts: number }>('SELECT ts FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT 1', [
        this.bridgeId,
      ])
      .then((row) => {
        this.stats.oldestTs = row?.ts;
      })
      .catch((err: Error) => this.hooks.onError(err, 'reading the outbox head', 0))
      .finally(() => (this.headQuery = undefined));
    return this.headQuery;
  }

  /** Forgets the in-memory copy of recent rows (after a reconnect, so only the disk says what is left). */
  forgetRecent(): void {
    this.recent.clear();
  }

  private drop(count: number, reason: DropReason): void {
    this.stats.dropped[reason] += count;
    this.hooks.onDropped(count, reason);
  }
}
