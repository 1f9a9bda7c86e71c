// The tables of a data folder: each part owns its tables and their migrations (the broker its
// retained messages and sessions, the command router its audit log, the bridge its outbox); this
// is the list of them that this build migrates a data folder up to, and refuses anything newer.
import { brokerMigrations } from './broker/persistence/migrations.js';
import { MIGRATIONS as outboxMigrations } from './bridge/outbox/outbox.js';
import { auditMigrations } from './mapping/audit.js';
import type { SchemaVersions } from './store/data-folder.js';

/** The schema this build of tagwire migrates data folders up to, per migration component. */
export function currentSchema(): SchemaVersions {
  return {
    broker: brokerMigrations.length,
    audit: auditMigrations.length,
    outbox: outboxMigrations.length,
  };
}
