// One SQLite database per gateway, in its data directory. Each component owns its tables and its
// migration list (broker, audit, outbox...), versioned per component so components grow apart.
import sqlite3 from 'sqlite3';

export type SqlParam = string | number | bigint | Buffer | null;

export interface RunResult {
  changes: number;
  lastID: number;
}

/** What statements are issued on: the database itself, or a transaction open on it. */
export interface Queryable {
  exec(sql: string): Promise<void>;
  run(sql: string, params?: readonly SqlParam[]): Promise<RunResult>;
  all<Row>(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  get<Row>(sql: string, params?: readonly SqlParam[]): Promise<Row | undefined>;
  /** On a transaction, `work` joins it; on the database, it opens one. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}

/**
 * A promise face on sqlite3 with grouped transactions; all statements run on one connection, in
 * order. A transaction's statements go through its handle (`tx.run`, `stmt.run(params, tx)`);
 * while it is open, statements issued on the database wait for it to end, so they can neither
 * land inside it (and vanish with its rollback) nor start a second one. The handle is explicit,
 * not an AsyncLocalStorage: on Node 20 an active one hooks every promise in the process.
 */
export class Database implements Queryable {
  private open: Transaction | null = null;

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

  /**
   * Runs `op` now when it belongs to the open transaction (`tx`) or none is open, else once no
   * transaction is. The usual case stays synchronous.
   */
  gated<T>(op: () => Promise<T>, tx?: Transaction): Promise<T> {
    if (tx) {
      if (tx !== this.open) return Promise.reject(new Error('statement on a transaction that has ended'));
      return op();
    }
    if (this.open === null) return op();
    const wait = async (): Promise<T> => {
      while (this.open !== null) await this.open.done;
      return op();
    };
    return wait();
  }

  exec(sql: string, tx?: Transaction): Promise<void> {
    return this.gated(() => this.rawExec(sql), tx);
  }

  private rawExec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  run(sql: string, params: readonly SqlParam[] = [], tx?: Transaction): Promise<RunResult> {
    return this.gated(() => this.rawRun(sql, params), tx);
  }

  private rawRun(sql: string, params: readonly SqlParam[]): Promise<RunResult> {
    return new Promise((resolve, reject) =>
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      }),
    );
  }

  all<Row>(sql: string, params: readonly SqlParam[] = [], tx?: Transaction): Promise<Row[]> {
    return this.gated(
      () =>
        new Promise<Row[]>((resolve, reject) =>
          this.db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
        ),
      tx,
    );
  }

  get<Row>(sql: string, params: readonly SqlParam[] = [], tx?: Transaction): Promise<Row | undefined> {
    return this.gated(
      () =>
        new Promise<Row | undefined>((resolve, reject) =>
          this.db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as Row | undefined))),
        ),
      tx,
    );
  }

  /** A prepared statement, for hot paths that run the same SQL many times. */
  prepare(sql: string): Statement {
    return new Statement(this.db.prepare(sql), this);
  }

  /**
   * Runs `work` inside one transaction: the statements it issues through `tx` run in it; any
   * issued on the database wait until it has committed or rolled back.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    while (this.open) await this.open.done;
    const tx = new Transaction(this);
    this.open = tx;
    try {
      await this.rawExec('BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        await this.rawExec('COMMIT');
        return result;
      } catch (err) {
        await this.rawExec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      this.open = null;
      tx.end();
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
      await this.transaction(async (tx) => {
        await tx.exec(steps[version]!);
        await tx.run(
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

/** The handle of an open transaction: statements issued through it run inside it. */
export class Transaction implements Queryable {
  private ended!: () => void;
  /** Settles when the transaction has committed or rolled back. */
  readonly done = new Promise<void>((resolve) => (this.ended = resolve));

  constructor(private readonly db: Database) {}

  /** @internal Called by the database once COMMIT or ROLLBACK has run. */
  end(): void {
    this.ended();
  }

  exec(sql: string): Promise<void> {
    return this.db.exec(sql, this);
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    return this.db.run(sql, params, this);
  }

  all<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.db.all<Row>(sql, params, this);
  }

  get<Row>(sql: string, params: readonly SqlParam[] = []): Promise<Row | undefined> {
    return this.db.get<Row>(sql, params, this);
  }

  /** Joins this transaction: a nested unit of work commits or rolls back with it. */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.db.gated(() => work(this), this);
  }
}

export class Statement {
  constructor(
    private readonly stmt: sqlite3.Statement,
    private readonly db: Database,
  ) {}

  /** Runs the statement on `on`: inside that transaction, or on the database (the default). */
  run(params: readonly SqlParam[] = [], on?: Queryable): Promise<RunResult> {
    return this.db.gated(
      () =>
        new Promise<RunResult>((resolve, reject) =>
          this.stmt.run(params, function (this: sqlite3.RunResult, err: Error | null) {
            if (err) reject(err);
            else resolve({ changes: this.changes, lastID: this.lastID });
          }),
        ),
      on instanceof Transaction ? on : undefined,
    );
  }

  all<Row>(params: readonly SqlParam[] = [], on?: Queryable): Promise<Row[]> {
    return this.db.gated(
      () =>
        new Promise<Row[]>((resolve, reject) =>
          this.stmt.all(params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))),
        ),
      on instanceof Transaction ? on : undefined,
    );
  }

  finalize(): Promise<void> {
    return new Promise((resolve) => this.stmt.finalize(() => resolve()));
  }
}

function withFile(err: Error, file: string): Error {
  return new Error(`cannot open database ${file}: ${err.message}`);
}
