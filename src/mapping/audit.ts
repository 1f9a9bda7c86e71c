// The command audit log: every command, accepted or refused, with who sent it, what it asked, what
// came of it and how long it took. Rows older than the retention are deleted on open and hourly.
// A command's row is written before the command reaches the device (`reserve`) and completed
// after it (`finish`): a command whose row cannot be stored does not run. Rows written while a
// commit is under way go together in the next transaction (group commit), so concurrent commands
// share one sync to disk.
import { setFields } from '../fields.js';
import type { Logger } from '../log.js';
import { Database, type RunResult, type SqlParam } from '../store/db.js';
import { FailureLog } from '../store/failure-log.js';

export type CommandKind = 'set' | 'get' | 'device-set';

/**
 * What came of a command: `ok`; `refused` by a check, never sent to the device; `failed` on the
 * device's side (it answered with an error, or the read-back differs); `unknown` when the request
 * went out and no answer came in time (the device may still apply it), or the gateway stopped
 * before the row was completed.
 */
export type AuditOutcome = 'ok' | 'refused' | 'failed' | 'unknown';

export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['ok', 'refused', 'failed', 'unknown'];

export interface AuditEntry {
  /** When the command arrived, epoch ms. */
  ts: number;
  kind: CommandKind;
  /** The MQTT client id, or `bridge:<name>` / `internal:<component>` for other origins. */
  clientId: string;
  username?: string;
  device?: string;
  /** The tag, or the tags of a device-level command joined by commas. */
  tag?: string;
  topic: string;
  /** The command payload as received (UTF-8, cut at 4 KiB). */
  payload: string;
  ok: boolean;
  outcome: AuditOutcome;
  /** The result message sent back, as JSON text; empty while the command has not finished. */
  result: string;
  durationMs: number;
}

/** What is known of a command before it runs: who sent what, where. */
export type AuditStart = Omit<AuditEntry, 'ok' | 'outcome' | 'result' | 'durationMs'>;

/** What came of it. */
export interface AuditEnd {
  outcome: AuditOutcome;
  result: string;
  durationMs: number;
}

/** A row stored before its command runs; `finish` completes it. */
export interface AuditReservation {
  finish(end: AuditEnd): Promise<void>;
}

export interface AuditFilter {
  device?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  outcome?: AuditOutcome;
  /** The most recent rows kept; default 1000. */
  limit?: number;
}

/** The audit log's tables (migration component 'audit'). */
export const auditMigrations: readonly string[] = [
  `CREATE TABLE audit (
     id INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     kind TEXT NOT NULL,
     client_id TEXT NOT NULL,
     username TEXT,
     device TEXT,
     tag TEXT,
     topic TEXT NOT NULL,
     payload TEXT NOT NULL,
     ok INTEGER NOT NULL,
     result TEXT NOT NULL,
     duration_ms REAL NOT NULL
   );
   CREATE INDEX audit_ts ON audit (ts);
   CREATE INDEX audit_device_ts ON audit (device, ts);`,
  // Rows before version 2 knew only ok or not: a failure is recorded as failed.
  `ALTER TABLE audit ADD COLUMN outcome TEXT NOT NULL DEFAULT 'failed';
   UPDATE audit SET outcome = 'ok' WHERE ok = 1;`,
];

const PRUNE_EVERY_MS = 3_600_000;
/** How long a completed row may wait to share the next command's commit. */
const LAZY_MS = 20;
const DAY_MS = 86_400_000;

const INSERT = `INSERT INTO audit (ts, kind, client_id, username, device, tag, topic, payload, ok, outcome, result, duration_ms)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const FINISH = 'UPDATE audit SET ok = ?, outcome = ?, result = ?, duration_ms = ? WHERE id = ?';

interface PendingWrite {
  sql: string;
  params: SqlParam[];
  resolve(result: RunResult): void;
  reject(err: unknown): void;
}

interface AuditRow {
  ts: number;
  kind: CommandKind;
  client_id: string;
  username: string | null;
  device: string | null;
  tag: string | null;
  topic: string;
  payload: string;
  ok: number;
  outcome: AuditOutcome;
  result: string;
  duration_ms: number;
}

export class AuditLog {
  private pruneTimer?: NodeJS.Timeout;
  private closed = false;
  private pending: PendingWrite[] = [];
  private lazy: PendingWrite[] = [];
  private flushing = false;
  private lazyTimer?: NodeJS.Timeout;

  private constructor(
    private readonly db: Database,
    private readonly retentionMs: number,
    /** Where rows are written: `db`, or a connection of the audit log's own. */
    private readonly writer: Database,
  ) {}

  /**
   * `file`, the database's file, gives the audit log a connection of its own for its rows, with
   * synchronous=NORMAL: a row is in the WAL file (the disk had room for it) before its command
   * runs, and survives a crash of the gateway, without a sync to disk on every command's path
   * (a sync costs 1 to 7 ms on a busy disk; a power cut may lose the latest rows). Without `file`
   * rows go through `db` and are synced at each commit. With `log`, a prune that fails (a full
   * disk) is logged with counts and tried again at the next hour; it never stops the gateway.
   */
  static async open(
    db: Database,
    opts: { retentionDays: number; file?: string; log?: Logger },
  ): Promise<AuditLog> {
    await db.migrate('audit', auditMigrations);
    let writer = db;
    if (opts.file !== undefined) {
      writer = await Database.open(opts.file);
      await writer.exec('PRAGMA synchronous=NORMAL');
    }
    const audit = new AuditLog(db, opts.retentionDays * DAY_MS, writer);
    if (!opts.log) await audit.prune(); // no one to tell: a failure stops the caller
    const failures = opts.log ? new FailureLog(opts.log, 'pruning the audit log') : undefined;
    const prune = (): Promise<void> =>
      audit.prune().then(
        () => failures?.succeeded(),
        (err: Error) => failures?.failed(err, 1),
      );
    if (opts.log) await prune();
    audit.pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
    audit.pruneTimer.unref();
    return audit;
  }

  /** Stores a finished command's row in one go (a command that never reaches a device). */
  async record(entry: AuditEntry): Promise<void> {
    await this.write(INSERT, [
      ...startParams(entry),
      entry.outcome === 'ok' ? 1 : 0,
      entry.outcome,
      entry.result,
      entry.durationMs,
    ]);
  }

  /**
   * Stores the row of a command about to run, with the outcome `unknown` until `finish` completes
   * it. Rejects when the row cannot be stored: the command must not run then.
   */
  async reserve(start: AuditStart): Promise<AuditReservation> {
    const { lastID } = await this.write(INSERT, [...startParams(start), 0, 'unknown', '', 0]);
    return {
      finish: async (end) => {
        await this.write(
          FINISH,
          [end.outcome === 'ok' ? 1 : 0, end.outcome, end.result, end.durationMs, lastID],
          'lazy',
        );
      },
    };
  }

  /**
   * Queues a statement. One that a command waits for (`now`) goes out at once, alone or with the
   * others waiting at that moment, so a command's row costs one round trip to SQLite. A `lazy`
   * one (completing a row after its command has answered) waits up to LAZY_MS, so that many
   * completions share one transaction off the commands' path.
   */
  private write(sql: string, params: SqlParam[], when: 'now' | 'lazy' = 'now'): Promise<RunResult> {
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    return new Promise((resolve, reject) => {
      (when === 'now' ? this.pending : this.lazy).push({ sql, params, resolve, reject });
      if (this.flushing) return;
      if (when === 'now') void this.flush();
      else
        this.lazyTimer ??= setTimeout(() => {
          this.lazyTimer = undefined;
          if (!this.flushing) void this.flush();
        }, LAZY_MS);
    });
  }

  /**
   * Writes what is pending, in one transaction per batch; what arrives meanwhile waits for the
   * next one. Rows commands wait for go first; completions follow once their time has come.
   */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      for (;;) {
        let batch: PendingWrite[];
        if (this.pending.length > 0) {
          batch = this.pending;
          this.pending = [];
        } else if (this.lazy.length > 0 && (this.lazyTimer === undefined || this.closed)) {
          batch = this.lazy;
          this.lazy = [];
        } else break;
        await this.run(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async run(batch: PendingWrite[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0]!;
      await this.writer.run(only.sql, only.params).then(only.resolve, only.reject);
      return;
    }
    try {
      const results = await this.writer.transaction(async (tx) => {
        const out: RunResult[] = [];
        for (const w of batch) out.push(await tx.run(w.sql, w.params));
        return out;
      });
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      // Rolled back: none of the batch is stored.
      for (const w of batch) w.reject(err);
    }
  }

  /** The most recent matching rows (at most `limit`), oldest first. */
  async query(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const conditions: [string, SqlParam | undefined][] = [
      ['device = ?', filter.device],
      ['ts >= ?', filter.since],
      ['ts < ?', filter.until],
      ['outcome = ?', filter.outcome],
    ];
    const given = conditions.filter((c): c is [string, SqlParam] => c[1] !== undefined);
    const where = given.map(([condition]) => condition);
    const params = [...given.map(([, value]) => value), filter.limit ?? 1000];
    const rows = await this.db.all<AuditRow>(
      `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts DESC, id DESC LIMIT ?`,
      params,
    );
    return rows.reverse().map(fromRow);
  }

  /** Deletes rows older than the retention; returns how many. */
  async prune(now = Date.now()): Promise<number> {
    if (!Number.isFinite(this.retentionMs)) return 0;
    const { changes } = await this.db.run('DELETE FROM audit WHERE ts < ?', [now - this.retentionMs]);
    return changes;
  }

  /** Stops the pruning timer; the database stays open (its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    // Rows already queued are written: a command that ran keeps its outcome.
    while (this.flushing || this.pending.length > 0 || this.lazy.length > 0) {
      if (!this.flushing) await this.flush();
      else await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.writer !== this.db) await this.writer.close();
  }
}

function fromRow(row: AuditRow): AuditEntry {
  const entry: AuditEntry = {
    ts: row.ts,
    kind: row.kind,
    clientId: row.client_id,
    topic: row.topic,
    payload: row.payload,
    ok: row.ok === 1,
    outcome: row.outcome,
    result: row.result,
    durationMs: row.duration_ms,
    ...setFields(row, ['username', 'device', 'tag']),
  };
  return entry;
}

function startParams(start: AuditStart): SqlParam[] {
  return [
    start.ts,
    start.kind,
    start.clientId,
    start.username ?? null,
    start.device ?? null,
    start.tag ?? null,
    start.topic,
    start.payload.length > 4096 ? start.payload.slice(0, 4096) : start.payload,
  ];
}
