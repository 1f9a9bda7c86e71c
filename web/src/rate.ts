// Events per second over a sliding window of whole seconds, in constant memory.

const WINDOW_SEC = 5;

export class RateCounter {
  private counts = new Array<number>(WINDOW_SEC).fill(0);
  private seconds = new Array<number>(WINDOW_SEC).fill(-1);

  add(n: number, now = Date.now()): void {
    const sec = Math.floor(now / 1000);
    const slot = sec % WINDOW_SEC;
    if (this.seconds[slot] !== sec) {
      this.seconds[slot] = sec;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += n;
  }

  /** The rate over the last complete seconds of the window. */
  perSecond(now = Date.now()): number {
    const sec = Math.floor(now / 1000);
    let total = 0;
    for (let i = 0; i < WINDOW_SEC; i++) {
      const s = this.seconds[i]!;
      if (s < sec && s >= sec - (WINDOW_SEC - 1)) total += this.counts[i]!;
    }
    return total / (WINDOW_SEC - 1);
  }
}
