// The broker's SQLite tables (migration component 'broker'): retained messages and persistent sessions.
import type { Logger } from '../../log.js';
import type { Database } from '../../store/db.js';
import { FailureLog } from '../../store/failure-log.js';

export const brokerMigrations: readonly string[] = [
  `CREATE TABLE retained (
     topic TEXT PRIMARY KEY,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL,
     properties TEXT,
     expires_at INTEGER
   );
   CREATE TABLE broker_sessions (
     client_id TEXT PRIMARY KEY,
     username TEXT,
     protocol_version INTEGER NOT NULL,
     expiry_sec INTEGER NOT NULL,
     disconnected_at INTEGER,
     subscriptions TEXT NOT NULL
   );
   CREATE TABLE broker_session_messages (
     client_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     topic TEXT NOT NULL,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL,
     retain INTEGER NOT NULL,
     properties TEXT,
     expires_at INTEGER,
     packet_id INTEGER,
     stage TEXT NOT NULL,
     PRIMARY KEY (client_id, seq)
   );`,
];

/**
 * What the broker's two stores share: the broker's tables brought up to date before either is
 * used, one failure log each (what it was writing, with counts), and a closed flag that stops
 * their retries.
 */
export abstract class BrokerTable {
  protected readonly failures: FailureLog;
  protected closed = false;

  protected constructor(
    protected readonly db: Database,
    log: Logger,
    writing: string,
  ) {
    this.failures = new FailureLog(log, writing);
  }

  /** Creates or upgrades the broker's tables; each store's `open` runs it first. */
  protected static migrate(db: Database): Promise<void> {
    return db.migrate('broker', brokerMigrations);
  }
}
