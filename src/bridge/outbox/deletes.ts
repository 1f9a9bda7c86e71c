// Delivered rows leave the outbox in batches. Until its delete goes through, a delivered row is
// remembered here so no page serves it again; a delete that fails (a full disk) is tried again, in
// small statements, after the disk reserve gave its room.
import type { Database, SqlParam, Transaction } from '../../store/db.js';
import type { DiskReserve } from '../../store/disk-reserve.js';
import { deleteRuns, isDiskFull } from './outbox-rows.js';

/** Seqs per listed delete statement, and rows per statement once a delete failed. */
export const DELETE_CHUNK = 500;
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

export interface Removed {
  count: number;
  bytes: number;
}

export interface DeleteHooks {
  /** Rows left the store: the outbox's counters follow. */
  removed(count: number, bytes: number): void;
  onError(err: Error, during: string, items: number): void;
  /** Whether a group commit is under way or queued, which can carry the due deletes. */
  commitComing(): boolean;
}

export class OutboxDeletes {
  /** Delivered seqs not deleted yet (queued, or a delete that failed): never served again. */
  private readonly delivered = new Set<number>();
  private queue: number[] = [];
  /** When the oldest queued delete was queued (performance.now()). */
  private queuedSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private deleting: Promise<void> | undefined;
  /** Set once a failed delete released the disk reserve's ballast; cleared by a delete that works. */
  private reserveReleased = false;
  /** The last delete pass failed: the next one goes in small statements. */
  private failedLately = false;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly bridgeId: number,
    private readonly reserve: DiskReserve,
    private readonly hooks: DeleteHooks,
  ) {}

  /** True for a delivered row whose delete has not gone through (a page must skip it). */
  isDelivered(seq: number): boolean {
    return this.delivered.has(seq);
  }

  get deliveredCount(): number {
    return this.delivered.size;
  }

  /** Deletes queued and not tried yet. */
  get queued(): number {
    return this.queue.length;
  }

  /** The pass under way, if any. */
  get busy(): Promise<void> | undefined {
    return this.deleting;
  }

  /** Marks a row delivered; it is deleted with the next batch. */
  markDelivered(seq: number): void {
    if (this.queue.length === 0) this.queuedSince = performance.now();
    this.queue.push(seq);
    this.delivered.add(seq);
    if (this.queue.length >= DELETE_BATCH && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
  }

  /**
   * The deletes a group commit starting now should carry in its transaction: the due ones, unless
   * the last delete failed (then they go alone, in small pieces). Handed over: the caller reports
   * back with `carried` or `notCarried`.
   */
  takeDue(): number[] {
    if (!this.canCarry() || !this.isDue()) return [];
    const seqs = this.queue;
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return seqs;
  }

  /** Deletes `seqs` inside the caller's transaction; report the outcome with `carried`. */
  async inTransaction(seqs: readonly number[], tx: Transaction): Promise<Removed> {
    let count = 0;
    let bytes = 0;
    for (const run of deleteRuns(seqs, Number.MAX_SAFE_INTEGER, DELETE_CHUNK)) {
      const removed = await deleteRows(tx, this.bridgeId, run.condition, run.params);
      count += removed.count;
      bytes += removed.bytes;
    }
    return { count, bytes };
  }

  /** The transaction carrying `seqs` committed. */
  carried(seqs: readonly number[], removed: Removed): void {
    for (const seq of seqs) this.delivered.delete(seq);
    this.hooks.removed(removed.count, removed.bytes);
  }

  /** The transaction carrying `seqs` rolled back: they take the lone path, which copes with a full disk. */
  notCarried(seqs: readonly number[]): void {
    this.requeue(seqs);
    this.failedLately = true;
    this.schedule();
  }

  /** Deletes this bridge's rows matching `condition` (drops, expiry); returns the count. */
  async where(condition: string, params: readonly SqlParam[]): Promise<number> {
    const { count, bytes } = await this.db.transaction((tx) =>
      deleteRows(tx, this.bridgeId, condition, params),
    );
    this.hooks.removed(count, bytes);
    return count;
  }

  /** Deletes what is queued now, alone; failures stay queued for a retry. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    if (this.deleting) return this.deleting;
    if (this.queue.length === 0) return Promise.resolve();
    const seqs = this.queue;
    this.queue = [];
    let failed = false;
    let released = false;
    this.deleting = (async () => {
      // Acknowledgements come mostly in order: contiguous runs go as one range, the rest as lists.
      // Each statement commits on its own. After a delete failed (a full disk), ranges are cut
      // into small statements too, so each needs little room in the WAL; otherwise a range is one
      // statement, one commit.
      const rangeChunk = this.canCarry() ? Number.MAX_SAFE_INTEGER : DELETE_CHUNK;
      for (const run of deleteRuns(seqs, rangeChunk, DELETE_CHUNK)) {
        if (!failed) {
          try {
            await this.where(run.condition, run.params);
            this.reserveReleased = false;
            for (const seq of run.seqs) this.delivered.delete(seq);
            continue;
          } catch (err) {
            failed = true;
            this.failedLately = true;
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
        this.requeue(run.seqs);
      }
    })().finally(() => {
      this.deleting = undefined;
      if (!failed) this.failedLately = false;
      if (this.queue.length === 0 || this.stopped) return;
      if (failed) {
        this.retry = setTimeout(() => void this.flush(), released ? 0 : RETRY_MS);
        this.retry.unref();
      } else this.schedule();
    });
    return this.deleting;
  }

  /** No more timers: what is queued stays queued (sent again after a restart at worst). */
  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer || this.deleting || this.retry || this.stopped) return;
    if (this.queue.length === 0) return;
    const waited = performance.now() - this.queuedSince;
    const delay = this.queue.length >= DELETE_BATCH ? 0 : Math.max(0, DELETE_LINGER_MS - waited);
    this.timer = setTimeout(() => this.due(), delay);
  }

  private isDue(): boolean {
    return (
      this.queue.length >= DELETE_BATCH ||
      (this.queue.length > 0 && performance.now() - this.queuedSince >= DELETE_LINGER_MS)
    );
  }

  /**
   * The linger is over: the next group commit takes the deletes when one is under way or queued
   * (looked at again shortly, in case none comes), else they go alone.
   */
  private due(): void {
    this.timer = undefined;
    if (this.canCarry() && this.hooks.commitComing())
      this.timer = setTimeout(() => this.due(), DELETE_RECHECK_MS);
    else void this.flush();
  }

  private canCarry(): boolean {
    return !this.failedLately && !this.reserveReleased;
  }

  private requeue(seqs: readonly number[]): void {
    if (this.queue.length === 0) this.queuedSince = performance.now();
    this.queue.push(...seqs);
  }
}

/**
 * Deletes a bridge's rows matching `condition` inside `tx`; returns how many and their bytes.
 * The totals come from one aggregate read in the same transaction, not from `RETURNING bytes`:
 * that hands every deleted row to JavaScript as an object (2,000 per batch of acknowledgements),
 * which cost about a fifth of the outbox's CPU per forwarded message.
 */
async function deleteRows(
  tx: Transaction,
  bridgeId: number,
  condition: string,
  params: readonly SqlParam[],
): Promise<Removed> {
  const where = `FROM outbox_messages WHERE bridge_id = ? AND ${condition}`;
  const bound = [bridgeId, ...params];
  const totals = await tx.get<{ n: number; bytes: number }>(
    `SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes ${where}`,
    bound,
  );
  const { changes } = await tx.run(`DELETE ${where}`, bound);
  if (changes !== totals?.n)
    throw new Error(`outbox delete: ${changes} rows deleted where ${totals?.n ?? 0} were counted`);
  return { count: changes, bytes: totals.bytes };
}
