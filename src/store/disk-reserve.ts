// The free-space reserve of a store on disk. Two guards:
// - below `minFreeBytes` free, the store takes nothing new, so the rest of the gateway can still
//   write and what the store holds can still be deleted;
// - a ballast file holds part of that reserve. When the disk fills anyway (another program, a log
//   burst), a write fails with SQLITE_FULL: the ballast is released, so deleting delivered rows
//   (SQLite in WAL mode needs room in the WAL to delete) goes through, and it is laid again once
//   the disk has room.
// Free space is read with statfs at most a few times a second; in between, what was taken since
// is subtracted (twice over: the row, then its copy in the WAL).
import { statfs, unlink, writeFile } from 'node:fs/promises';

const REFRESH_MS = 250;
/** The ballast is this share of the reserve, at most BALLAST_MAX bytes. */
const BALLAST_SHARE = 2;
const BALLAST_MAX = 8 * 1024 * 1024;

export class DiskReserve {
  /** Bytes the store may still take before the reserve; refreshed from statfs. */
  private room = Number.POSITIVE_INFINITY;
  private checkedAt = 0;
  private checking: Promise<void> | undefined;
  private lastError: Error | undefined;
  private readonly ballastBytes: number;
  private ballastLaid = false;

  constructor(
    private readonly dir: string,
    /** Bytes to keep free on the filesystem; 0 turns the reserve off. */
    readonly minFreeBytes: number,
    /** The ballast file (in `dir`). */
    private readonly ballastFile: string,
    /** Room inside the store's own files (free database pages), which new rows reuse first. */
    private readonly reusable: () => Promise<number>,
  ) {
    this.ballastBytes = Math.min(BALLAST_MAX, Math.floor(minFreeBytes / BALLAST_SHARE));
  }

  /** Reads the free space now (on open, and after a write failed for want of space). */
  async refresh(): Promise<void> {
    if (this.minFreeBytes === 0) return;
    this.checking ??= (async () => {
      try {
        let free = await this.freeBytes();
        // The ballast goes back once the disk has room for it and the reserve besides.
        if (!this.ballastLaid && this.ballastBytes > 0 && free >= this.minFreeBytes + this.ballastBytes) {
          await writeFile(this.ballastFile, Buffer.alloc(this.ballastBytes));
          this.ballastLaid = true;
          free -= this.ballastBytes;
        }
        // The ballast counts as free: it is there to be given back.
        this.room =
          free + (this.ballastLaid ? this.ballastBytes : 0) + (await this.reusable()) - this.minFreeBytes;
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

  private async freeBytes(): Promise<number> {
    const fs = await statfs(this.dir);
    return fs.bavail * fs.bsize;
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
    this.checkedAt = Date.now(); // read again in REFRESH_MS, not at once
  }

  /**
   * Deleting failed with the disk full: the ballast is released, so the deletes (and only they:
   * nothing new is taken until the disk has room again) can go through. Resolves once it is.
   */
  async release(): Promise<void> {
    this.full();
    if (!this.ballastLaid) return;
    this.ballastLaid = false;
    await unlink(this.ballastFile).catch(() => undefined);
  }

  /** Why the reserve refuses, for the refusal message. */
  describe(): string {
    const how = this.lastError ? ` (free space unknown: ${this.lastError.message})` : '';
    return `less than the reserve of ${this.minFreeBytes} bytes free on the disk of ${this.dir}${how}`;
  }
}
