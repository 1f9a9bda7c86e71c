// The outbox's figures for the status: what it holds (kept exact as rows come and go), what it
// dropped and why, and the oldest message's time (re-read from disk, at most a few times a second).
import type { Database } from '../../store/db.js';
import type { DropReason, OutboxHooks, OutboxStats, StoredMessage } from './types.js';

const HEAD_REFRESH_MS = 250;

export class OutboxTally {
  private readonly figures: OutboxStats = {
    messages: 0,
    bytes: 0,
    dropped: { 'max-messages': 0, 'max-bytes': 0, 'max-age': 0, 'write-failed': 0, 'disk-reserve': 0 },
    committed: 0,
  };
  private headQuery: Promise<void> | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly bridgeId: number,
    private readonly hooks: Pick<OutboxHooks, 'onDropped' | 'onError'>,
  ) {}

  /** What the database held at open. */
  async opened(messages: number, bytes: number): Promise<void> {
    this.figures.messages = messages;
    this.figures.bytes = bytes;
    await this.refreshHead();
  }

  get messages(): number {
    return this.figures.messages;
  }

  get bytes(): number {
    return this.figures.bytes;
  }

  get oldestTs(): number | undefined {
    return this.figures.oldestTs;
  }

  /** Rows now durable. */
  committed(rows: readonly StoredMessage[]): void {
    if (this.figures.messages === 0) this.figures.oldestTs = rows[0]?.ts;
    for (const m of rows) this.figures.bytes += m.bytes;
    this.figures.messages += rows.length;
    this.figures.committed += rows.length;
  }

  /** Rows gone from the store (delivered, dropped or expired). */
  removed(count: number, bytes: number): void {
    if (count === 0) return;
    this.figures.messages -= count;
    this.figures.bytes -= bytes;
    if (this.figures.messages === 0) this.figures.oldestTs = undefined;
    else this.scheduleHeadRefresh();
  }

  /** Messages dropped or refused, counted by reason and told to the hooks. */
  dropped(count: number, reason: DropReason): void {
    this.figures.dropped[reason] += count;
    this.hooks.onDropped(count, reason);
  }

  snapshot(): OutboxStats {
    return { ...this.figures, dropped: { ...this.figures.dropped } };
  }

  /** The head read under way, if any (a drain waits for it). */
  get busy(): Promise<void> | undefined {
    return this.headQuery;
  }

  stop(): void {
    this.stopped = true;
    if (this.headTimer) clearTimeout(this.headTimer);
    this.headTimer = undefined;
  }

  private scheduleHeadRefresh(): void {
    if (this.headTimer || this.stopped) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      void this.refreshHead();
    }, HEAD_REFRESH_MS);
    this.headTimer.unref();
  }

  private refreshHead(): Promise<void> {
    if (this.headQuery) return this.headQuery;
    this.headQuery = this.db
      .get<{ ts: number }>('SELECT ts FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT 1', [
        this.bridgeId,
      ])
      .then((row) => {
        this.figures.oldestTs = row?.ts;
      })
      .catch((err: Error) => this.hooks.onError(err, 'reading the outbox head', 0))
      .finally(() => (this.headQuery = undefined));
    return this.headQuery;
  }
}
