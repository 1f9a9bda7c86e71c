// A sliding-window write limit per tag: at most `writes` writes in any `perSec` seconds.
import type { RateLimit } from '../config/types.js';

export class RateWindow {
  private readonly stamps: number[] = [];
  private readonly windowMs: number;

  constructor(readonly limit: RateLimit) {
    this.windowMs = limit.perSec * 1000;
  }

  /** Whether one more write now would exceed the limit (takes nothing). */
  exceeded(now: number): boolean {
    while (this.stamps.length > 0 && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
    return this.stamps.length >= this.limit.writes;
  }

  take(now: number): void {
    this.stamps.push(now);
  }

  describe(): string {
    return `at most ${this.limit.writes} write${this.limit.writes === 1 ? '' : 's'} per ${this.limit.perSec} s`;
  }
}
