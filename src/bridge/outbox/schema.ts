// The outbox's tables: one row per stored message, keyed (bridge, seq).
import type { Database } from '../../store/db.js';

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
