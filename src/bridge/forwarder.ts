// Moves committed outbox messages upstream. Two paths share one inflight window:
// - live: a message just committed goes out at once when its topic has nothing older waiting;
// - backlog: a cursor pages the outbox in seq order at the drain rate (after an outage, a restart,
//   or when the window was full), skipping what the live path already sent.
// Per-topic order holds because a topic stays on the backlog path until the cursor has sent its
// newest waiting message. Rows are deleted only on acknowledgement (or when written, for QoS 0).
import type { Outbox, StoredMessage } from './outbox/outbox.js';
import { TokenBucket } from './rate.js';

export type PublishFn = (msg: StoredMessage, done: (err?: Error) => void) => void;

export interface ForwarderSession {
  publish: PublishFn;
  /** Most messages awaiting acknowledgement. */
  window: number;
  /** True while the connection that `publish` writes to is up. */
  isConnected(): boolean;
}

export interface ForwarderHooks {
  onSent(count: number): void;
  /** The upstream refused a message for good (e.g. an MQTT 5 PUBACK reason code): it is dropped. */
  onRejected(msg: StoredMessage, err: Error): void;
  onError(err: Error, during: string): void;
}

const PAGE = 1000;

/** A page read in progress, with what was true when it was issued. */
interface PageRead {
  epoch: number;
  after: number;
  /** backlogVersion and the outbox's committedThrough at issue time (see caughtUp). */
  version: number;
  committed: number;
  page: Promise<StoredMessage[]>;
}
/** Beyond this many distinct topics with backlog, everything takes the backlog path until caught up. */
const MAX_TRACKED_TOPICS = 100_000;

export class Forwarder {
  private session: ForwarderSession | undefined;
  private epoch = 0;
  /** Seq -> topic and send time; in send order, so the first entry is the oldest. */
  private readonly inflight = new Map<number, { topic: string; sentAt: number }>();
  /** Topic -> newest seq waiting for the cursor. */
  private readonly backlogTopics = new Map<string, number>();
  private fifoOnly = false;
  /** Seqs the live path sent that the cursor may still read; kept in ascending order. */
  private readonly liveSent = new Set<number>();
  private buffer: StoredMessage[] = [];
  private prefetched: PageRead | undefined;
  private bufferIndex = 0;
  private readAfter = 0;
  private backlogVersion = 1;
  private scannedVersion = 0;
  private ready = false;
  private paused = false;
  private pumping = false;
  private pumpAgain = false;
  private rateTimer: NodeJS.Timeout | undefined;
  private readonly bucket: TokenBucket;

  constructor(
    private readonly outbox: Outbox,
    drainRatePerSec: number,
    private readonly hooks: ForwarderHooks,
  ) {
    this.bucket = new TokenBucket(drainRatePerSec);
  }

  /** Learns which topics already have a backlog (after a restart), then lets the live path run. */
  async start(): Promise<void> {
    const heads = await this.outbox.topicHeads(MAX_TRACKED_TOPICS + 1);
    if (heads.size > MAX_TRACKED_TOPICS) this.fifoOnly = true;
    else for (const [topic, seq] of heads) this.markBacklog(topic, seq);
    this.backlogVersion++;
    this.ready = true;
    this.kick();
  }

  attach(session: ForwarderSession): void {
    this.detach();
    this.session = session;
    this.paused = false;
    this.kick();
  }

  /** The connection is gone: whatever was in flight waits again, and the cursor starts over. */
  detach(): void {
    this.epoch++;
    this.session = undefined;
    for (const [seq, { topic }] of this.inflight) this.markBacklog(topic, seq);
    this.inflight.clear();
    this.liveSent.clear();
    this.outbox.forgetRecent();
    this.buffer = [];
    this.bufferIndex = 0;
    this.prefetched = undefined;
    this.readAfter = 0;
    this.backlogVersion++;
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
  }

  /** Sends nothing new (acknowledgements are still taken); for a clean stop. */
  pause(): void {
    this.paused = true;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** How long the oldest unacknowledged message has waited, ms (0 when none waits). */
  oldestInflightAgeMs(now = Date.now()): number {
    for (const { sentAt } of this.inflight.values()) return now - sentAt;
    return 0;
  }

  get backlogTopicCount(): number {
    return this.backlogTopics.size;
  }

  /** Called by the outbox with every group commit, in seq order. */
  onCommitted(batch: readonly StoredMessage[]): void {
    let leftForCursor = false;
    for (const msg of batch) {
      if (this.canSendLive(msg.topic)) {
        this.liveSent.add(msg.seq);
        this.send(msg);
      } else {
        this.markBacklog(msg.topic, msg.seq);
        leftForCursor = true;
      }
    }
    if (leftForCursor) {
      this.backlogVersion++;
      this.kick();
    }
  }

  private canSendLive(topic: string): boolean {
    const s = this.session;
    return (
      s !== undefined &&
      this.ready &&
      !this.paused &&
      !this.fifoOnly &&
      this.inflight.size < s.window &&
      !this.backlogTopics.has(topic)
    );
  }

  private markBacklog(topic: string, seq: number): void {
    const known = this.backlogTopics.get(topic);
    if (known === undefined || known < seq) this.backlogTopics.set(topic, seq);
    if (this.backlogTopics.size > MAX_TRACKED_TOPICS) this.fifoOnly = true;
  }

  private send(msg: StoredMessage): void {
    const session = this.session!;
    const epoch = this.epoch;
    this.inflight.set(msg.seq, { topic: msg.topic, sentAt: Date.now() });
    session.publish(msg, (err) => {
      if (epoch !== this.epoch) return; // that connection is gone; detach() requeued the message
      if (err) {
        if (!session.isConnected()) return; // the close handler will detach and requeue
        this.hooks.onRejected(msg, err);
      } else {
        this.hooks.onSent(1);
      }
      this.inflight.delete(msg.seq);
      this.outbox.remove(msg.seq);
      this.kick();
    });
  }

  private kick(): void {
    if (this.pumping) this.pumpAgain = true;
    else if (!this.nothingToPump()) void this.pump();
  }

  /**
   * True when the pump would return at once: then it is not started (every PUBACK kicks, and an
   * async call allocates). What it would have done on the way out is done here.
   */
  private nothingToPump(): boolean {
    const session = this.session;
    if (!session || !this.ready || this.paused || this.rateTimer) return true;
    if (this.inflight.size >= session.window) return true;
    if (this.bufferIndex < this.buffer.length || this.scannedVersion !== this.backlogVersion) return false;
    this.passLiveRows();
    return true;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        this.pumpAgain = false;
        const session = this.session;
        if (!session || !this.ready || this.paused || this.rateTimer) return;
        if (this.inflight.size >= session.window) return; // an acknowledgement kicks again
        if (this.bufferIndex >= this.buffer.length) {
          if (this.scannedVersion === this.backlogVersion) return this.passLiveRows();
          this.pruneLiveSent(); // the cursor will not read at or below readAfter again
          const read = this.takeRead(this.readAfter);
          const page = await read.page;
          if (read.epoch !== this.epoch) continue; // reconnected meanwhile: the cursor was reset
          if (page.length === 0) this.caughtUp(read.committed, read.version);
          else {
            this.buffer = page;
            this.bufferIndex = 0;
            this.readAfter = page[page.length - 1]!.seq;
            // A full page: there is likely more, so read the next one while this one is sent.
            if (page.length === PAGE) this.prefetched = this.startRead(this.readAfter);
          }
          continue;
        }
        const msg = this.buffer[this.bufferIndex]!;
        if (this.liveSent.has(msg.seq) || this.inflight.has(msg.seq) || this.outbox.isDelivered(msg.seq)) {
          this.bufferIndex++;
          continue;
        }
        const wait = this.bucket.take();
        if (wait > 0) {
          this.rateTimer = setTimeout(() => {
            this.rateTimer = undefined;
            this.kick();
          }, wait);
          this.rateTimer.unref();
          return;
        }
        this.bufferIndex++;
        if ((this.backlogTopics.get(msg.topic) ?? 0) <= msg.seq) this.backlogTopics.delete(msg.topic);
        this.send(msg);
      }
    } catch (err) {
      this.hooks.onError(err as Error, 'reading the outbox');
      this.rateTimer = setTimeout(() => {
        this.rateTimer = undefined;
        this.kick();
      }, 1000);
      this.rateTimer.unref();
    } finally {
      this.pumping = false;
      if (this.pumpAgain) this.kick();
    }
  }

  /** The read of the page after `after`: the prefetched one when it is still valid. */
  private takeRead(after: number): PageRead {
    const prefetched = this.prefetched;
    this.prefetched = undefined;
    if (prefetched && prefetched.epoch === this.epoch && prefetched.after === after) return prefetched;
    return this.startRead(after);
  }

  private startRead(after: number): PageRead {
    const page = this.outbox.page(after, PAGE);
    page.catch(() => undefined); // a discarded prefetch must not become an unhandled rejection
    return {
      epoch: this.epoch,
      after,
      version: this.backlogVersion,
      committed: this.outbox.committedThrough,
      page,
    };
  }

  /** The cursor found nothing past `readAfter`: everything committed up to `committed` was seen. */
  private caughtUp(committed: number, version: number): void {
    this.readAfter = Math.max(this.readAfter, committed);
    this.pruneLiveSent();
    // Entries left are topics whose newest waiting message was dropped: nothing holds them back.
    for (const [topic, seq] of this.backlogTopics)
      if (seq <= this.readAfter) this.backlogTopics.delete(topic);
    if (this.backlogTopics.size === 0) this.fifoOnly = false;
    this.scannedVersion = version;
  }

  /**
   * The cursor is caught up: every message committed since its last scan went out live (one left
   * for the cursor would have bumped backlogVersion), so it may start past them and forget them.
   * Without this, a link that never falls behind kept one liveSent entry per message forever.
   */
  private passLiveRows(): void {
    this.readAfter = Math.max(this.readAfter, this.outbox.committedThrough);
    this.pruneLiveSent();
  }

  /** How many live-sent seqs are remembered for the cursor to skip (bounded by what it may read). */
  get liveSentCount(): number {
    return this.liveSent.size;
  }

  private pruneLiveSent(): void {
    for (const seq of this.liveSent) {
      if (seq > this.readAfter) break;
      this.liveSent.delete(seq);
    }
  }
}
