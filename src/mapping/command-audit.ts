// The audit side of a command: its row is stored as the command arrives (before it can reach a
// device) and completed once it is answered. While the audit log cannot store rows, every command
// is refused; the failure is logged once, then as a count at most every LOG_EVERY_MS, not once per
// command (a flood of commands on a full disk must not flood the log too).
import type { Logger } from '../log.js';
import type { AuditEnd, AuditLog, AuditReservation, AuditStart } from './audit.js';

const LOG_EVERY_MS = 10_000;

/** One command's row: `stored` settles once it is (rejects when it cannot be). */
export interface AuditedCommand {
  stored: Promise<void>;
  finish(end: AuditEnd): Promise<void>;
}

export class CommandAuditor {
  private refused = 0;
  private lastLogAt = Number.NEGATIVE_INFINITY;
  private lastError?: unknown;
  private summaryTimer?: NodeJS.Timeout;

  constructor(
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {}

  begin(start: AuditStart): AuditedCommand {
    const reservation: Promise<AuditReservation> = this.audit.reserve(start);
    const stored = reservation.then(
      () => undefined,
      (err: unknown) => {
        this.failed(err);
        throw err;
      },
    );
    stored.catch(() => undefined); // awaited by the command only when it gets that far
    return {
      stored,
      finish: async (end) => {
        let row: AuditReservation;
        try {
          row = await reservation;
        } catch {
          return; // the command did not run; counted above
        }
        await row
          .finish(end)
          .catch((err: unknown) =>
            this.log.error({ err, topic: start.topic }, 'cannot complete an audit row: it stays "unknown"'),
          );
      },
    };
  }

  private failed(err: unknown): void {
    this.refused++;
    this.lastError = err;
    const now = Date.now();
    if (now - this.lastLogAt >= LOG_EVERY_MS) this.report(now);
    else this.summaryTimer ??= setTimeout(() => this.report(Date.now()), LOG_EVERY_MS).unref();
  }

  private report(now: number): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = undefined;
    if (this.refused === 0) return;
    this.log.error(
      { err: this.lastError, refused: this.refused },
      `audit log unavailable: ${this.refused} command${this.refused === 1 ? '' : 's'} refused`,
    );
    this.refused = 0;
    this.lastLogAt = now;
  }
}
