// One SQLite database per gateway, in its data directory. Each component owns its tables and its
// migration list (broker, audit, outbox...), versioned per component so components grow apart.
import { AsyncLocalStorage } from 'node:async_hooks';
import sqlite3 from 'sqlite3';

export type SqlParam = string | number | bigint | Buffer | null;

export interface RunResult {
  changes: number;
  lastID: number;
}

/** The transaction open on a connection, and when it ends. */
interface OpenTransaction {
  id: symbol;
  done: Promise<void>;
}

/**
 * A promise face on sqlite3 with grouped transactions; all statements run on one connection, in
 * order. While one component's transaction is open, statements from anywhere else wait for it to
 * end, so they can neither land inside it (and vanish with its rollback) nor start a second one.
 */
export class Database {
  private open: OpenTransaction | null = null;
  private readonly context = new AsyncLocalStorage<symbol>();

  private constructor(
    private readonly db: sqlite3.Database,
    /** The database file, as opened. */
    readonly file: string,
  ) {}

  static async open(file: string): Promise<Database> {
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const d = new sqlite3.Database(file, (err) => (err ? reject(withFile(err, file)) : resolve(d)));
    });
    const db = new Database(raw, file);
    // WAL: readers never block the writer. synchronous=FULL syncs the WAL at every commit, so a
    // committed transaction survives a power cut too, not only a crash; callers group their
    // writes into few transactions, which keeps the syncs few.
    await db.exec(
      'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;',
    );
    await db.exec(
      'CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)',
    );
    return db;
  }

  /** True when a transaction other than the caller's is open: the caller must wait. */
  private blocked(): boolean {
    return this.open !== null && this.context.getStore() !== this.open.id;
  }

  /** Runs `op` now, or once no foreign transaction is open. The usual case stays synchronous. */
  gated<T>(op: () => Promise<T>): Promise<T> {
    if (!this.blocked()) return op();
    const wait = async (): Promise<T> => {
      while (this.blocked()) await this.open!.done;
      return op();
    };
    return wait();
  }

  exec(sql: string): Promise<void> {
    return this.gated(() => this.rawExec(sql));
  }

  private rawExec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    return this.gated(() => this.rawRun(sql, params));
  }

  private rawRun(sql: string, params: readonly SqlParam[]): Promise<RunResult> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      }),
    );
  }

  all<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.gated(
      () =>
        new Promise<Row[]>((resolve, reject) =>
          this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
        ),
    );
  }

  get<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row | undefined> {
    return this.gated(
      () =>
        new Promise<Row | undefined>((resolve, reject) =>
          this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as Row | undefined))),
        ),
    );
  }

  /** A prepared statement, for hot paths that run the same SQL many times. */
  prepare(sql: string): Statement {
    return new Statement(this.db.prepare(sql), this);
  }

  /**
   * Runs `work` inside one transaction. Statements that `work` issues (in its async context) run
   * in it; statements from elsewhere wait until it has committed or rolled back.
   */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    // A transaction inside the caller's own transaction is part of it.
    if (this.open && this.context.getStore() === this.open.id) return work();
    while (this.open) await this.open.done;
    let end!: () => void;
    const open: OpenTransaction = { id: Symbol('transaction'), done: new Promise<void>((r) => (end = r)) };
    this.open = open;
    try {
      return await this.context.run(open.id, async () => {
        await this.rawExec('BEGIN IMMEDIATE');
        try {
          const result = await work();
          await this.rawExec('COMMIT');
          return result;
        } catch (err) {
          await this.rawExec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
    } finally {
      this.open = null;
      end();
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

  /**
   * A consistent copy of the whole database in `file` (which must not exist), taken in one read
   * transaction: safe while other connections, the running gateway's included, keep writing.
   */
  async backupTo(file: string): Promise<void> {
    await this.run('VACUUM INTO ?', [file]);
  }

  close(): Promise<void> {
    return this.gated(() => this.rawClose());
  }

  private rawClose(): Promise<void> {
    return new Promise((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

export class Statement {
  constructor(
    private readonly stmt: sqlite3.Statement,
    private readonly db: Database,
  ) {}

  run(params: readonly SqlParam[] = []): Promise<RunResult> {
    return this.db.gated(
      () =>
        new Promise<RunResult>((resolve, reject) =>
          this.stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
            if (err) reject(err);
            else resolve({ changes: this.changes, lastID: this.lastID });
          }),
        ),
    );
  }

  all<Row>(params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.db.gated(
      () =>
        new Promise<Row[]>((resolve, reject) =>
          this.stmt.all(params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
        ),
    );
  }

  finalize(): Promise<void> {
    return new Promise((resolve) => this.stmt.finalize(() => resolve()));
  }
}

function withFile(err: Error, file: string): Error {
  return new Error(`cannot open database ${file}: ${err.message}`);
}
