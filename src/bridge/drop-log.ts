// A bridge's dropped messages, counted by reason. Drops are never silent: the first is logged at
// once, the rest summed into one line every few seconds (a full outbox drops at the publish rate).
import type { Logger } from '../log.js';
import { emptyDrops, type BridgeDropReason } from './status.js';

const DROP_LOG_MS = 5000;

export class DropLog {
  private readonly drops = emptyDrops();
  private unlogged = emptyDrops();
  private lastLogged = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly bridge: string,
    /** Messages still in the outbox, told beside the drops. */
    private readonly outboxMessages: () => number | undefined,
  ) {}

  dropped(count: number, reason: BridgeDropReason): void {
    this.drops[reason] += count;
    this.unlogged[reason] += count;
    this.flush(false);
  }

  /** Drops so far, by reason, and their sum. */
  counts(): { total: number; byReason: Record<BridgeDropReason, number> } {
    let total = 0;
    for (const n of Object.values(this.drops)) total += n;
    return { total, byReason: { ...this.drops } };
  }

  /** Logs what was not logged yet, now or (`force` false) once the interval allows. */
  flush(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastLogged < DROP_LOG_MS) {
      if (!this.timer) {
        this.timer = setTimeout(() => this.flush(true), DROP_LOG_MS);
        this.timer.unref();
      }
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const counts = Object.fromEntries(Object.entries(this.unlogged).filter(([, n]) => n > 0));
    if (Object.keys(counts).length === 0) return;
    this.lastLogged = now;
    this.unlogged = emptyDrops();
    this.log.warn(
      { dropped: counts, outbox: this.outboxMessages() },
      `bridge ${this.bridge}: messages dropped`,
    );
  }
}
