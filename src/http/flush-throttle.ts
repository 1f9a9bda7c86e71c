// Sends at most once per period, without making a change wait for a tick: a change after a quiet
// period goes out on the next turn of the event loop (changes of the same turn together), one
// during the period when it ends. Latest-value streams use it so that a new viewer's first value
// comes as soon as there is one, and a busy stream still sends at most once a period.

export class FlushThrottle {
  private lastFlush = -Infinity;
  private timer?: NodeJS.Timeout;

  /**
   * `flush` sends what is pending and says whether it could: false (the client does not keep up)
   * tries again a period later.
   */
  constructor(
    private readonly flush: () => boolean,
    private readonly periodMs: number,
  ) {}

  /** Something changed: flush now (next turn) or when the period since the last flush ends. */
  changed(): void {
    this.schedule(Math.max(0, this.lastFlush + this.periodMs - performance.now()));
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.flush()) this.lastFlush = performance.now();
      else this.schedule(this.periodMs);
    }, ms);
  }
}
