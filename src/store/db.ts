// One SQLite database per gateway, in its data directory. Each component owns its tables and its
// migration list (broker, audit, outbox...), versioned per component so components grow apart.
import sqlite3 from 'sqlite3';

export type SqlParam = string | number | bigint | Buffer | null;

export interface RunResult {
  changes: number;
  lastID: number;
}

/** A promise face on sqlite3 with grouped transactions; all statements run on one connection, in order. */
export class Database {
  private constructor(private readonly db: sqlite3.Database) {}

  static async open(file: string): Promise<Database> {
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, (err) => (err ? reject(withFile(err, file)) : resolve(d)));
    });
    const db = new Database(raw);
    // WAL: readers never block the writer; synchronous=NORMAL keeps every committed transaction
    // through a process crash (SIGKILL) and, with WAL, the database consistent through a power cut.
    await db.exec(
      'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;',
    );
    await db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)',
    );
    return db;
  }

  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      }),
    );
  }

  all<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return new Promise((resolve, reject) =>
      this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
    );
  }

  get<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row | undefined> {
    return new Promise((resolve, reject) =>
      this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as Row | undefined))),
    );
  }

  /** A prepared statement, for hot paths that run the same SQL many times. */
  prepare(sql: string): Statement {
    return new Statement(this.db.prepare(sql));
  }

  /**
   * Runs `work` inside one transaction. Statements are queued on the single connection in call
   * order, so `work` must issue only this transaction's statements until it resolves.
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    await this.exec('BEGIN IMMEDIATE');
    try {
      const result = await work();
      await this.exec('COMMIT');
      return result;
    } catch (err) {
      await this.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * Brings one component's tables up to date: `steps[i]` takes it from version i to i+1. Steps
   * already applied are skipped; each runs in its own transaction with the version bump.
   */
  async migrate(component: string, steps: readonly string[]): Promise<void> {
    const row = await this.get<{ version: number }>(
      'SELECT version FROM schema_version WHERE component = ?',
      [component],
    );
    const current = row?.version ?? 0;
    if (current > steps.length) {
      throw new Error(
        `database schema of ${component} is version ${current}, newer than this tagwire knows (${steps.length}): refusing to run an older release on newer data`,
      );
    }
    for (let version = current; version < steps.length; version++) {
      await this.transaction(async () => {
        await this.exec(steps[version]!);
        await this.run(
          'INSERT INTO schema_version (component, version) VALUES (?, ?) ON CONFLICT(component) DO UPDATE SET version = excluded.version',
          [component, version + 1],
        );
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

export class Statement {
  constructor(private readonly stmt: sqlite3.Statement) {}

  run(params: readonly SqlParam[] = []): Promise<RunResult> {
    return new Promise((resolve, reject) =>
      this.stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      }),
    );
  }

  all<Row>(params: readonly SqlParam[] = []): Promise<Row[]> {
    return new Promise((resolve, reject) =>
      this.stmt.all(params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
    );
  }

  finalize(): Promise<void> {
    return new Promise((resolve) => this.stmt.finalize(() => resolve()));
  }
}

function withFile(err: Error, file: string): Error {
  return new Error(`cannot open database ${file}: ${err.message}`);
}
