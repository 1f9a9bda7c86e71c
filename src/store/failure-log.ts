// Storage failures, logged once with counts: a full disk fails every write, and one error line
// per message would flood the journal. The first failure is logged at once; while failures go on,
// one summary line per interval says how many writes and items failed; recovery is said once.
import type { Logger } from '../log.js';

const DEFAULT_INTERVAL_MS = 10_000;

export class FailureLog {
  private failures = 0;
  private items = 0;
  private lastError: Error | undefined;
  private lastLogged = 0;
  private timer: NodeJS.Timeout | undefined;
  /** True from the first failure until a write succeeds again. */
  private failing = false;
  private total = 0;

  constructor(
    private readonly log: Logger,
    /** What failed, e.g. "writing MQTT sessions". */
    private readonly what: string,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  /** A write of `items` items (messages, rows) failed. */
  failed(err: Error, items: number): void {
    this.failing = true;
    this.failures++;
    this.total++;
    this.items += items;
    this.lastError = err;
    const wait = this.lastLogged + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), wait);
      this.timer.unref();
    }
  }

  /** A write succeeded: logs the end of a failing spell, once. */
  succeeded(): void {
    if (!this.failing) return;
    this.flush();
    this.failing = false;
    this.log.warn({ failures: this.total }, `${this.what} works again`);
    this.total = 0;
  }

  /** Logs what is unlogged now (also on close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.failures === 0) return;
    this.lastLogged = Date.now();
    this.log.error(
      { err: this.lastError, failures: this.failures, items: this.items },
      `${this.what} failed (${this.failures} time(s), ${this.items} item(s) since the last report)`,
    );
    this.failures = 0;
    this.items = 0;
  }
}
