// A data folder written by tagwire 0.1.0 (before each part owned its tables: the SQL dumps in
// fixtures/data-folder-0.1.0, `zcat` to read them, were made by that code with `sqlite3 .dump`)
// opens, migrates and keeps every row.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { AuditLog } from '../../src/mapping/audit.js';
import { currentSchema } from '../../src/data-schema.js';
import { DATA_VERSION_FILE } from '../../src/store/data-folder.js';
import { Database } from '../../src/store/db.js';
import { migrateOutbox, Outbox } from '../../src/bridge/outbox/outbox.js';
import { RetainedStore } from '../../src/broker/persistence/retained.js';
import { SessionStore } from '../../src/broker/persistence/sessions.js';
import { RELEASE } from '../../src/version.js';
import { demoConfig } from '../helpers/demo-config.js';

const fixture = path.join(import.meta.dirname, 'fixtures', 'data-folder-0.1.0');

/** Rebuilds the 0.1.0 databases from their SQL dumps in `dataDir`. */
async function restoreFixture(dataDir: string): Promise<void> {
  for (const name of ['tagwire', 'outbox']) {
    const db = await Database.open(path.join(dataDir, `${name}.db`));
    // The dump creates schema_version itself, as 0.1.0 wrote it.
    await db.exec('DROP TABLE schema_version');
    await db.exec(gunzipSync(readFileSync(path.join(fixture, `${name}.sql.gz`))).toString('utf8'));
    await db.close();
  }
  copyFileSync(path.join(fixture, DATA_VERSION_FILE), path.join(dataDir, DATA_VERSION_FILE));
}

describe('a data folder from tagwire 0.1.0', () => {
  it('starts the gateway and keeps its retained messages, sessions, audit rows and outbox', async () => {
    const demo = await demoConfig((config) => {
      config.devices = [];
      config.mappings = [];
      config.simulators = { modbus: [], opcua: [] };
    });
    const dataDir = path.join(demo.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    await restoreFixture(dataDir);

    const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await gateway.start();
    await gateway.stop();
    expect(JSON.parse(readFileSync(path.join(dataDir, DATA_VERSION_FILE), 'utf8'))).toEqual({
      schema: currentSchema(),
      writtenBy: RELEASE,
    });

    const log = silentLogger();
    const db = await Database.open(path.join(dataDir, 'tagwire.db'));
    const retained = await RetainedStore.open(db, log);
    expect((await retained.loadAll()).map((m) => [m.topic, m.payload.toString()])).toEqual([
      ['plant/line1/state', '{"running":true}'],
    ]);
    const sessions = await SessionStore.open(db, log);
    expect((await sessions.loadAll(Date.now())).map((s) => s.clientId)).toEqual(['scada-1']);
    await sessions.close();
    const audit = await AuditLog.open(db, { retentionDays: 36500, file: db.file, log });
    const rows = await audit.query();
    expect(rows.map((r) => [r.device, r.tag, r.outcome, r.payload])).toEqual([
      ['plc1', 'setpoint', 'ok', '{"value":42}'],
    ]);
    await audit.close();
    await db.close();

    const outboxDb = await Database.open(path.join(dataDir, 'outbox.db'));
    await migrateOutbox(outboxDb);
    const outbox = await Outbox.open(
      outboxDb,
      'cloud',
      { maxMessages: 1000, maxBytes: 1_000_000, maxAgeSec: 0, dropPolicy: 'drop-oldest' },
      {
        onCommitted: () => undefined,
        onDropped: () => undefined,
        onError: (err) => {
          throw err;
        },
      },
    );
    expect((await outbox.page(0, 10)).map((m) => [m.topic, m.retain, m.payload.toString()])).toEqual([
      ['tagwire/gw1/plc1/temp', false, '{"v":21.5}'],
      ['tagwire/gw1/plc1/pressure', true, '{"v":1.2}'],
    ]);
    await outbox.close();
    await outboxDb.close();
  });
});
