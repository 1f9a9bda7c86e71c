// The free-space reserve of a store on disk: below it the store takes nothing new, so what it
// holds can still be deleted (SQLite in WAL mode needs room for the WAL to delete rows) and the
// rest of the gateway still has room to write. Free space is read with statfs at most a few times
// a second; in between, what was taken since is subtracted (twice over: the row, then its WAL copy).
import { statfs } from 'node:fs/promises';

const REFRESH_MS = 250;

export class DiskReserve {
  /** Bytes the store may still take before the reserve; refreshed from statfs. */
  private room = Number.POSITIVE_INFINITY;
  private checkedAt = 0;
  private checking: Promise<void> | undefined;
  private lastError: Error | undefined;

  constructor(
    private readonly dir: string,
    /** Bytes to keep free on the filesystem; 0 turns the reserve off. */
    readonly minFreeBytes: number,
    /** Room inside the store's own files (free database pages), which new rows reuse first. */
    private readonly reusable: () => Promise<number>,
  ) {}

  /** Reads the free space now (on open, and after a write failed for want of space). */
  async refresh(): Promise<void> {
    if (this.minFreeBytes === 0) return;
    this.checking ??= (async () => {
      try {
        const fs = await statfs(this.dir);
        const free = fs.bavail * fs.bsize;
        this.room = free + (await this.reusable()) - this.minFreeBytes;
        this.lastError = undefined;
      } catch (err) {
        this.lastError = err as Error;
      } finally {
        this.checkedAt = Date.now();
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  /**
   * Whether `bytes` more may be taken now. Counts them against the room when they may; starts a
   * fresh statfs when the last one is old.
   */
  take(bytes: number): boolean {
    if (this.minFreeBytes === 0) return true;
    if (Date.now() - this.checkedAt > REFRESH_MS) void this.refresh();
    if (this.room < bytes * 2) return false;
    this.room -= bytes * 2;
    return true;
  }

  /** A write failed with the disk full: nothing more is taken until statfs says otherwise. */
  full(): void {
    this.room = 0;
    void this.refresh();
  }

  /** Why the reserve refuses, for the refusal message. */
  describe(): string {
    const how = this.lastError ? ` (free space unknown: ${this.lastError.message})` : '';
    return `less than the reserve of ${this.minFreeBytes} bytes free on the disk of ${this.dir}${how}`;
  }
}
