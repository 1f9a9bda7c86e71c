// A token bucket: at most `perSec` takes per second, with a burst of a twentieth of a second.

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private readonly capacity: number;

  /** `perSec` 0 means no limit. */
  constructor(private readonly perSec: number) {
    this.capacity = Math.max(1, perSec / 20);
    this.tokens = this.capacity;
  }

  /** Takes one token: 0 when granted, else the milliseconds until one is available. */
  take(): number {
    if (this.perSec === 0) return 0;
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.perSec) / 1000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.perSec));
  }
}
