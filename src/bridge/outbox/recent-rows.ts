// The latest committed outbox rows, kept in memory so the cursor does not read back from disk what
// it was just handed. Rows are appended per group commit and the oldest fall off the front; the
// array is compacted only once its dead prefix is as long as the window, so a commit costs its own
// rows, not a copy of the whole window.
import type { StoredMessage } from './types.js';

export class RecentRows {
  private rows: StoredMessage[] = [];
  /** Index of the oldest row still kept; those before it are dead. */
  private start = 0;

  constructor(private readonly max: number) {}

  /** Adds a commit's rows (consecutive seqs); a gap in seqs starts over. */
  add(committed: readonly StoredMessage[]): void {
    const first = committed[0];
    if (!first) return;
    const last = this.rows[this.rows.length - 1];
    if (last && first.seq !== last.seq + 1) this.clear();
    for (const row of committed) this.rows.push(row);
    const kept = this.rows.length - this.start;
    if (kept > this.max) this.start += kept - this.max;
    if (this.start >= this.max) {
      this.rows = this.rows.slice(this.start);
      this.start = 0;
    }
  }

  /** Up to `limit` rows after `afterSeq`, when the kept rows cover it; else undefined (read the disk). */
  after(afterSeq: number, limit: number): StoredMessage[] | undefined {
    const first = this.rows[this.start];
    if (!first || afterSeq + 1 < first.seq || afterSeq >= this.rows[this.rows.length - 1]!.seq)
      return undefined;
    const from = this.start + afterSeq + 1 - first.seq;
    return this.rows.slice(from, from + limit);
  }

  /** Forgets every row (rows were dropped, or after a reconnect only the disk says what is left). */
  clear(): void {
    this.rows = [];
    this.start = 0;
  }
}
