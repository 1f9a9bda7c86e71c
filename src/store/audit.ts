// The command audit log: every command, accepted or refused, with who sent it, what it asked, what
// came of it and how long it took. Rows older than the retention are deleted on open and hourly.
import type { Database, SqlParam } from './db.js';

export type CommandKind = 'set' | 'get' | 'device-set';

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
  /** The result message sent back, as JSON text. */
  result: string;
  durationMs: number;
}

export interface AuditFilter {
  device?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** The most recent rows kept; default 1000. */
  limit?: number;
}

const MIGRATIONS = [
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
];

const PRUNE_EVERY_MS = 3_600_000;
const DAY_MS = 86_400_000;

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
  result: string;
  duration_ms: number;
}

export class AuditLog {
  private pruneTimer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly db: Database,
    private readonly retentionMs: number,
  ) {}

  static async open(db: Database, opts: { retentionDays: number }): Promise<AuditLog> {
    await db.migrate('audit', MIGRATIONS);
    const log = new AuditLog(db, opts.retentionDays * DAY_MS);
    await log.prune();
    log.pruneTimer = setInterval(() => void log.prune().catch(() => undefined), PRUNE_EVERY_MS);
    log.pruneTimer.unref();
    return log;
  }

  async record(entry: AuditEntry): Promise<void> {
    if (this.closed) throw new Error('the audit log is closed');
    await this.db.run(
      `INSERT INTO audit (ts, kind, client_id, username, device, tag, topic, payload, ok, result, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        entry.ts,
        entry.kind,
        entry.clientId,
        entry.username ?? null,
        entry.device ?? null,
        entry.tag ?? null,
        entry.topic,
        entry.payload.length > 4096 ? entry.payload.slice(0, 4096) : entry.payload,
        entry.ok ? 1 : 0,
        entry.result,
        entry.durationMs,
      ],
    );
  }

  /** The most recent matching rows (at most `limit`), oldest first. */
  async query(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (filter.device !== undefined) {
      where.push('device = ?');
      params.push(filter.device);
    }
    if (filter.since !== undefined) {
      where.push('ts >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('ts < ?');
      params.push(filter.until);
    }
    params.push(filter.limit ?? 1000);
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
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
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
    result: row.result,
    durationMs: row.duration_ms,
  };
  if (row.username !== null) entry.username = row.username;
  if (row.device !== null) entry.device = row.device;
  if (row.tag !== null) entry.tag = row.tag;
  return entry;
}
