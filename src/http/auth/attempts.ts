// Login (and failed token) attempts per client address: a fixed one-minute window, bounded memory.
const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class AttemptLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly perMinute: number) {}

  /** Counts one attempt; false when the address is over its limit (the attempt is refused). */
  take(address: string, now = Date.now()): boolean {
    let window = this.windows.get(address);
    if (!window || now - window.start >= WINDOW_MS) {
      if (!window && this.windows.size >= MAX_ADDRESSES) this.prune(now);
      window = { start: now, count: 0 };
      this.windows.set(address, window);
    }
    window.count++;
    return window.count <= this.perMinute;
  }

  /** Seconds until the address may try again. */
  retryAfterSec(address: string, now = Date.now()): number {
    const window = this.windows.get(address);
    return window ? Math.max(1, Math.ceil((window.start + WINDOW_MS - now) / 1000)) : 1;
  }

  private prune(now: number): void {
    for (const [address, window] of this.windows) {
      if (now - window.start >= WINDOW_MS) this.windows.delete(address);
    }
    if (this.windows.size >= MAX_ADDRESSES) this.windows.clear();
  }
}
