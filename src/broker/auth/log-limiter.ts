// At most `burst` log lines per window; the next line that gets through says how many were
// left out. A login flood then costs a few lines, not one per attempt.
export class LogLimiter {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly burst: number,
    private readonly windowMs: number,
  ) {}

  /** Calls `write` with the count of lines left out since the last one, unless over the limit. */
  log(write: (suppressed: number) => void, now = Date.now()): void {
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    write(suppressed);
  }
}
