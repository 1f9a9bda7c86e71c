// The bridge outbox: messages waiting for an upstream broker, on disk (SQLite, WAL) so a lost link,
// a restart or a power cut loses nothing that was committed. One instance per bridge; rows are
// keyed (bridge, seq) so each bridge pages its own queue in order without touching the others'.
import type { MessageProperties, QoS } from '../broker/api.js';
import type { Database, SqlParam, Statement } from './db.js';

export interface OutboxMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
}

export interface StoredMessage extends OutboxMessage {
  seq: number;
  /** Commit time, epoch ms. */
  ts: number;
  bytes: number;
}

export type DropPolicy = 'drop-oldest' | 'drop-newest';
export type DropReason = 'max-messages' | 'max-bytes' | 'max-age' | 'write-failed';

export interface OutboxLimits {
  maxMessages: number;
  maxBytes: number;
  /** 0: no age limit. */
  maxAgeSec: number;
  dropPolicy: DropPolicy;
}

export interface OutboxHooks {
  /** Rows now durable, in seq order: only from here on do they count as taken. */
  onCommitted(batch: readonly StoredMessage[]): void;
  onDropped(count: number, reason: DropReason): void;
  onError(err: Error, during: string): void;
}

export interface OutboxStats {
  messages: number;
  bytes: number;
  /** Commit time of the oldest stored message, epoch ms. */
  oldestTs?: number;
  dropped: Record<DropReason, number>;
  committed: number;
}

export const MIGRATIONS = [
  `CREATE TABLE outbox_bridges (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
   CREATE TABLE outbox_messages (
     bridge_id INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL,
     topic TEXT NOT NULL, payload BLOB NOT NULL, flags INTEGER NOT NULL, props TEXT,
     bytes INTEGER GENERATED ALWAYS AS
       (length(CAST(topic AS BLOB)) + length(payload) + coalesce(length(CAST(props AS BLOB)), 0)) VIRTUAL,
     PRIMARY KEY (bridge_id, seq)) WITHOUT ROWID;`,
];

/** Creates or upgrades the outbox tables; call once per database before opening outboxes. */
export async function migrateOutbox(db: Database): Promise<void> {
  await db.migrate('outbox', MIGRATIONS);
}

const INSERT_CHUNK = 2000; // rows per INSERT statement (4 parameters each, far below SQLite's 32766)
const DELETE_CHUNK = 500;
const MAX_FLUSH = 5000; // rows per group commit, so one commit never grows without bound
const MAX_PENDING = 100_000; // rows held in memory while the disk refuses writes
const RETRY_MS = 1000;
/** Rows just committed, kept so the cursor does not read back from disk what it was just handed. */
const RECENT_MAX = 10_000;

interface Row {
  seq: number;
  ts: number;
  topic: string;
  payload: Buffer;
  /** QoS in bits 0-1, retain in bit 2. */
  flags: number;
  props: string | null;
  bytes: number;
}

/** A message on its way to disk: its properties encoded once. */
interface PendingRow extends StoredMessage {
  props: string | null;
}

export class Outbox {
  private pending: PendingRow[] = [];
  /** The latest committed rows, consecutive seqs, oldest first. */
  private recent: StoredMessage[] = [];
  /** Seqs marked delivered whose delete is queued or running. */
  private readonly delivered = new Set<number>();
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private deletes: number[] = [];
  private deleting: Promise<void> | undefined;
  private deleteTimer: NodeJS.Immediate | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private headQuery: Promise<void> | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private readonly insertStatements = new Map<number, Statement>();
  private readonly pageStatement: Statement;
  private closed = false;
  private readonly stats: OutboxStats = {
    messages: 0,
    bytes: 0,
    dropped: { 'max-messages': 0, 'max-bytes': 0, 'max-age': 0, 'write-failed': 0 },
    committed: 0,
  };

  private constructor(
    private readonly db: Database,
    private readonly bridgeId: number,
    private readonly limits: OutboxLimits,
    private readonly hooks: OutboxHooks,
    private nextSeq: number,
  ) {
    this.pageStatement = db.prepare(
      'SELECT seq, ts, topic, payload, flags, props, bytes FROM outbox_messages WHERE bridge_id = ? AND seq > ? ORDER BY seq LIMIT ?',
    );
  }

  /** Opens the outbox of one bridge, resuming whatever backlog the database holds. */
  static async open(db: Database, bridge: string, limits: OutboxLimits, hooks: OutboxHooks): Promise<Outbox> {
    await db.run('INSERT INTO outbox_bridges (name) VALUES (?) ON CONFLICT(name) DO NOTHING', [bridge]);
    const idRow = await db.get<{ id: number }>('SELECT id FROM outbox_bridges WHERE name = ?', [bridge]);
    if (!idRow) throw new Error(`outbox of bridge ${bridge}: cannot register the bridge`);
    const totals = await db.get<{ n: number; bytes: number; last: number | null }>(
      'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes, max(seq) AS last FROM outbox_messages WHERE bridge_id = ?',
      [idRow.id],
    );
    const outbox = new Outbox(db, idRow.id, limits, hooks, (totals?.last ?? 0) + 1);
    outbox.stats.messages = totals?.n ?? 0;
    outbox.stats.bytes = totals?.bytes ?? 0;
    await outbox.refreshHead();
    if (limits.maxAgeSec > 0) {
      outbox.ageTimer = setInterval(
        () => outbox.expire(),
        Math.min(10_000, Math.max(1000, limits.maxAgeSec * 100)),
      );
      outbox.ageTimer.unref();
    }
    return outbox;
  }

  /** Queues a message for the next group commit; `onCommitted` reports it once durable. */
  append(msg: OutboxMessage): void {
    if (this.closed) throw new Error('outbox is closed');
    const props = encodeProperties(msg.properties) ?? null;
    const bytes = Buffer.byteLength(msg.topic) + msg.payload.length + (props ? Buffer.byteLength(props) : 0);
    const row: PendingRow = {
      topic: msg.topic,
      payload: msg.payload,
      qos: msg.qos,
      retain: msg.retain,
      seq: 0,
      ts: 0,
      bytes,
      props,
    };
    if (msg.properties) row.properties = msg.properties;
    this.pending.push(row);
    if (this.pending.length > MAX_PENDING) {
      const lost = this.pending.length - MAX_PENDING;
      this.pending.splice(0, lost);
      this.drop(lost, 'write-failed');
    }
    this.scheduleFlush();
  }

  /**
   * Up to `limit` stored messages after `afterSeq`, in order. Never loads more than a page. Rows
   * already delivered may still be returned (the caller skips what it sent); dropped ones are not.
   */
  async page(afterSeq: number, limit: number): Promise<StoredMessage[]> {
    const first = this.recent[0];
    if (first && afterSeq + 1 >= first.seq && afterSeq < this.recent[this.recent.length - 1]!.seq) {
      const from = afterSeq + 1 - first.seq;
      return this.recent.slice(from, from + limit);
    }
    const rows = await this.pageStatement.all<Row>([this.bridgeId, afterSeq, limit]);
    return rows.map(fromRow);
  }

  /** The newest seq of each topic in the store (at most `limit` topics), for per-topic ordering. */
  async topicHeads(limit: number): Promise<Map<string, number>> {
    const rows = await this.db.all<{ topic: string; seq: number }>(
      'SELECT topic, max(seq) AS seq FROM outbox_messages WHERE bridge_id = ? GROUP BY topic LIMIT ?',
      [this.bridgeId, limit],
    );
    return new Map(rows.map((r) => [r.topic, r.seq]));
  }

  /** Marks messages delivered; they are deleted in batches. */
  remove(seq: number): void {
    this.deletes.push(seq);
    this.delivered.add(seq);
    if (!this.deleteTimer && !this.deleting) this.deleteTimer = setImmediate(() => void this.flushDeletes());
  }

  /**
   * True for a message marked delivered whose row may not be deleted yet: a page read meanwhile
   * (after a reconnect) still returns it, and it must not be sent again.
   */
  isDelivered(seq: number): boolean {
    return this.delivered.has(seq);
  }

  getStats(): OutboxStats {
    return { ...this.stats, dropped: { ...this.stats.dropped } };
  }

  /** Highest seq handed to `onCommitted` so far (0 before any). */
  get committedThrough(): number {
    return this.lastCommitted;
  }
  private lastCommitted = 0;

  /** Commits what is pending, applies deletes, stops timers. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.ageTimer) clearInterval(this.ageTimer);
    await this.drain();
    if (this.headTimer) clearTimeout(this.headTimer);
    this.closed = true;
    await Promise.all([this.pageStatement, ...this.insertStatements.values()].map((s) => s.finalize()));
  }

  /** Waits until every appended message is committed and every queued delete applied. */
  async drain(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      if (this.flushing) await this.flushing;
      else if (this.deleting) await this.deleting;
      else if (this.pending.length > 0) await this.flush();
      else if (this.deletes.length > 0) await this.flushDeletes();
      else if (this.headQuery) await this.headQuery;
      else return;
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.flushing) return;
    this.flushTimer = setImmediate(() => void this.flush());
  }

  private flush(): Promise<void> {
    this.flushTimer = undefined;
    if (this.flushing) return this.flushing;
    this.flushing = this.writePending().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0 && !this.closed) this.scheduleFlush();
    });
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    let batch = this.pending.splice(0, MAX_FLUSH);
    if (batch.length === 0) return;
    if (this.limits.dropPolicy === 'drop-newest') batch = this.refuseOverflow(batch);
    const now = Date.now();
    for (const m of batch) {
      if (m.seq === 0) {
        m.seq = this.nextSeq++;
        m.ts = now;
      }
    }
    let done = 0;
    try {
      while (done < batch.length) {
        // One statement per run of consecutive seqs (a retry may leave a gap before new rows).
        let end = done + 1;
        while (end < batch.length && end - done < INSERT_CHUNK && batch[end]!.seq === batch[end - 1]!.seq + 1)
          end++;
        const chunk = batch.slice(done, end);
        await this.insertStatement(chunk.length).run(insertParams(chunk));
        done = end;
      }
    } catch (err) {
      // Keep the rows not written (with their seqs) for a retry; what was written stays written.
      this.pending.unshift(...batch.slice(done));
      this.hooks.onError(err as Error, 'writing the outbox');
      this.flushTimer = setTimeout(() => void this.flush(), RETRY_MS);
    }
    if (done === 0) return;
    const committed = done === batch.length ? batch : batch.slice(0, done);
    if (this.stats.messages === 0) this.stats.oldestTs = committed[0]!.ts;
    for (const m of committed) this.stats.bytes += m.bytes;
    this.stats.messages += committed.length;
    this.stats.committed += committed.length;
    this.lastCommitted = committed[committed.length - 1]!.seq;
    this.remember(committed);
    this.hooks.onCommitted(committed);
    if (this.limits.dropPolicy === 'drop-oldest') await this.dropOldest();
  }

  /** drop-newest: the part of a batch that does not fit is refused (counted). */
  private refuseOverflow(batch: PendingRow[]): PendingRow[] {
    let messages = this.stats.messages;
    let bytes = this.stats.bytes;
    const kept: PendingRow[] = [];
    let overMessages = 0;
    let overBytes = 0;
    for (const m of batch) {
      if (m.seq !== 0)
        kept.push(m); // a retry of rows already accepted
      else if (messages + 1 > this.limits.maxMessages) overMessages++;
      else if (bytes + m.bytes > this.limits.maxBytes) overBytes++;
      else {
        kept.push(m);
        messages++;
        bytes += m.bytes;
      }
    }
    if (overMessages) this.drop(overMessages, 'max-messages');
    if (overBytes) this.drop(overBytes, 'max-bytes');
    return kept;
  }

  private async dropOldest(): Promise<void> {
    for (let round = 0; round < 100; round++) {
      const overMessages = this.stats.messages - this.limits.maxMessages;
      const overBytes = this.stats.bytes - this.limits.maxBytes;
      if (overMessages <= 0 && overBytes <= 0) return;
      const average = this.stats.bytes / Math.max(1, this.stats.messages);
      const count = Math.max(overMessages, Math.ceil(overBytes / Math.max(1, average)), 1);
      const removed = await this.deleteWhere(
        'seq IN (SELECT seq FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT ?)',
        [this.bridgeId, count],
      );
      if (removed === 0) return;
      this.drop(removed, overMessages > 0 ? 'max-messages' : 'max-bytes');
    }
  }

  private expire(): void {
    if (this.closed || this.stats.oldestTs === undefined || this.flushing) return;
    const cutoff = Date.now() - this.limits.maxAgeSec * 1000;
    if (this.stats.oldestTs >= cutoff) return;
    this.flushing = (async () => {
      for (let round = 0; round < 1000; round++) {
        const removed = await this.deleteWhere(
          'seq IN (SELECT seq FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT ?) AND ts < ?',
          [this.bridgeId, DELETE_CHUNK, cutoff],
        );
        if (removed > 0) this.drop(removed, 'max-age');
        if (removed < DELETE_CHUNK) break;
      }
    })()
      .catch((err: Error) => this.hooks.onError(err, 'expiring old outbox messages'))
      .finally(() => {
        this.flushing = undefined;
        if (this.pending.length > 0) this.scheduleFlush();
      });
  }

  private async flushDeletes(): Promise<void> {
    this.deleteTimer = undefined;
    if (this.deleting || this.deletes.length === 0) return;
    const seqs = this.deletes;
    this.deletes = [];
    this.deleting = (async () => {
      // Acknowledgements come mostly in order: contiguous runs go as one range, the rest as lists.
      const { ranges, singles } = toRanges(seqs);
      for (const [from, to] of ranges) await this.deleteWhere('seq BETWEEN ? AND ?', [from, to]);
      for (let i = 0; i < singles.length; i += DELETE_CHUNK) {
        const chunk = singles.slice(i, i + DELETE_CHUNK);
        await this.deleteWhere(`seq IN (${chunk.map(() => '?').join(',')})`, chunk);
      }
    })()
      .catch((err: Error) => {
        // The rows stay on disk and will be sent again after a restart: a duplicate, never a loss.
        this.hooks.onError(err, 'deleting delivered outbox messages');
      })
      .finally(() => {
        this.deleting = undefined;
        for (const seq of seqs) this.delivered.delete(seq);
        if (this.deletes.length > 0 && !this.closed)
          this.deleteTimer = setImmediate(() => void this.flushDeletes());
      });
    return this.deleting;
  }

  /** Deletes this bridge's rows matching `condition`; keeps the counters exact. Returns the count. */
  private async deleteWhere(condition: string, params: readonly SqlParam[]): Promise<number> {
    const rows = await this.db.all<{ bytes: number }>(
      `DELETE FROM outbox_messages WHERE bridge_id = ? AND ${condition} RETURNING bytes`,
      [this.bridgeId, ...params],
    );
    if (rows.length === 0) return 0;
    let bytes = 0;
    for (const r of rows) bytes += r.bytes;
    this.stats.messages -= rows.length;
    this.stats.bytes -= bytes;
    if (this.stats.messages === 0) this.stats.oldestTs = undefined;
    else this.scheduleHeadRefresh();
    return rows.length;
  }

  /** The oldest message's time, re-read at most a few times a second (it only feeds the status). */
  private scheduleHeadRefresh(): void {
    if (this.headTimer || this.closed) return;
    this.headTimer = setTimeout(() => {
      this.headTimer = undefined;
      void this.refreshHead();
    }, 250);
    this.headTimer.unref();
  }

  private refreshHead(): Promise<void> {
    if (this.headQuery) return this.headQuery;
    this.headQuery = this.db
      .get<{ ts: number }>('SELECT ts FROM outbox_messages WHERE bridge_id = ? ORDER BY seq LIMIT 1', [
        this.bridgeId,
      ])
      .then((row) => {
        this.stats.oldestTs = row?.ts;
      })
      .catch((err: Error) => this.hooks.onError(err, 'reading the outbox head'))
      .finally(() => (this.headQuery = undefined));
    return this.headQuery;
  }

  private remember(committed: readonly StoredMessage[]): void {
    const last = this.recent[this.recent.length - 1];
    if (last && committed[0]!.seq !== last.seq + 1) this.recent = [];
    this.recent.push(...committed);
    if (this.recent.length > RECENT_MAX) this.recent = this.recent.slice(this.recent.length - RECENT_MAX);
  }

  /** Forgets the in-memory copy of recent rows (after a reconnect, so only the disk says what is left). */
  forgetRecent(): void {
    this.recent = [];
  }

  private drop(count: number, reason: DropReason): void {
    if (reason !== 'write-failed') this.recent = []; // dropped rows must not be served from memory
    this.stats.dropped[reason] += count;
    this.hooks.onDropped(count, reason);
  }

  /**
   * INSERT of `rows` consecutive messages. Numbered parameters keep the binding small: ?1 is the
   * first seq, ?2 the commit time, then topic, payload, flags and properties per row.
   */
  private insertStatement(rows: number): Statement {
    let stmt = this.insertStatements.get(rows);
    if (!stmt) {
      const tuples: string[] = [];
      for (let i = 0; i < rows; i++) {
        const p = 3 + i * 4;
        tuples.push(`(${this.bridgeId},?1+${i},?2,?${p},?${p + 1},?${p + 2},?${p + 3})`);
      }
      stmt = this.db.prepare(
        `INSERT INTO outbox_messages (bridge_id, seq, ts, topic, payload, flags, props) VALUES ${tuples.join(',')}`,
      );
      this.insertStatements.set(rows, stmt);
    }
    return stmt;
  }
}

function insertParams(chunk: readonly PendingRow[]): SqlParam[] {
  const params: SqlParam[] = new Array(2 + chunk.length * 4);
  params[0] = chunk[0]!.seq;
  params[1] = chunk[0]!.ts;
  let i = 2;
  for (const m of chunk) {
    params[i++] = m.topic;
    params[i++] = m.payload;
    params[i++] = m.qos | (m.retain ? 4 : 0);
    params[i++] = m.props;
  }
  return params;
}

/** Splits seqs into contiguous runs (at least 4 long) and the rest. */
export function toRanges(seqs: readonly number[]): { ranges: [number, number][]; singles: number[] } {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  const singles: number[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]! + 1) continue;
    if (i - start >= 4) ranges.push([sorted[start]!, sorted[i - 1]!]);
    else for (let j = start; j < i; j++) singles.push(sorted[j]!);
    start = i;
  }
  return { ranges, singles };
}

function fromRow(r: Row): StoredMessage {
  const msg: StoredMessage = {
    seq: r.seq,
    ts: r.ts,
    topic: r.topic,
    payload: r.payload,
    qos: (r.flags & 3) as QoS,
    retain: (r.flags & 4) !== 0,
    bytes: r.bytes,
  };
  if (r.props !== null) msg.properties = decodeProperties(r.props);
  return msg;
}

function encodeProperties(props: MessageProperties | undefined): string | undefined {
  if (!props || Object.keys(props).length === 0) return undefined;
  const { correlationData, ...rest } = props;
  return JSON.stringify(
    correlationData ? { ...rest, correlationData: correlationData.toString('base64') } : rest,
  );
}

function decodeProperties(text: string): MessageProperties {
  const parsed = JSON.parse(text) as Omit<MessageProperties, 'correlationData'> & {
    correlationData?: string;
  };
  const { correlationData, ...rest } = parsed;
  return correlationData === undefined
    ? rest
    : { ...rest, correlationData: Buffer.from(correlationData, 'base64') };
}
