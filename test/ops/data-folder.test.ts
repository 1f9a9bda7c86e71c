// Upgrades: a data folder records its schema; a newer release migrates it forward, an older one
// refuses it in one line before touching anything.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { currentSchema } from '../../src/data-schema.js';
import { DATA_VERSION_FILE, DataFolderTooNew } from '../../src/store/data-folder.js';
import { Database } from '../../src/store/db.js';
import { RELEASE } from '../../src/version.js';
import { demoConfig } from '../helpers/demo-config.js';
import { tagwire } from './cli.js';

/** A demo config without simulated devices: only the stores matter here. */
const storesOnly = () =>
  demoConfig((config) => {
    config.devices = [];
    config.mappings = [];
    config.simulators = { modbus: [], opcua: [] };
  });

/** Name and content hash of every file in a folder. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort())
    out[name] = createHash('sha256')
      .update(readFileSync(path.join(dir, name)))
      .digest('hex');
  return out;
}

describe('data folder schema version', () => {
  it('is recorded at start, with the release that wrote it', async () => {
    const demo = await storesOnly();
    const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await gateway.start();
    await gateway.stop();
    const recorded = JSON.parse(readFileSync(path.join(demo.dir, 'data', DATA_VERSION_FILE), 'utf8'));
    expect(recorded).toEqual({ schema: currentSchema(), writtenBy: RELEASE });
  });

  it('migrates an older folder forward', async () => {
    const demo = await storesOnly();
    const dataDir = path.join(demo.dir, 'data');
    const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await gateway.start();
    await gateway.stop();
    // Pretend the folder is from a release with one audit migration fewer: drop its last table
    // change back to version 1 and let the next start apply the rest again.
    const db = await Database.open(path.join(dataDir, 'tagwire.db'));
    const tables = await db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'audit%'",
    );
    for (const { name } of tables) await db.exec(`DROP TABLE ${name}`);
    await db.run("DELETE FROM schema_version WHERE component = 'audit'");
    await db.close();
    writeFileSync(
      path.join(dataDir, DATA_VERSION_FILE),
      JSON.stringify({ schema: { ...currentSchema(), audit: 0 }, writtenBy: '0.0.1' }),
    );
    const again = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await again.start();
    await again.stop();
    const check = await Database.open(path.join(dataDir, 'tagwire.db'));
    const row = await check.get<{ version: number }>(
      "SELECT version FROM schema_version WHERE component = 'audit'",
    );
    await check.close();
    expect(row?.version).toBe(currentSchema().audit);
    expect(JSON.parse(readFileSync(path.join(dataDir, DATA_VERSION_FILE), 'utf8')).writtenBy).toBe(RELEASE);
  });

  it('refuses a folder from a newer release in one line and changes no file', async () => {
    const demo = await storesOnly();
    const dataDir = path.join(demo.dir, 'data');
    const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await gateway.start();
    await gateway.stop();
    const newer = {
      schema: { ...currentSchema(), broker: (currentSchema().broker ?? 0) + 1 },
      writtenBy: '9.0.0',
    };
    writeFileSync(path.join(dataDir, DATA_VERSION_FILE), JSON.stringify(newer));
    const before = snapshot(dataDir);

    const inProcess = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await expect(inProcess.start()).rejects.toBeInstanceOf(DataFolderTooNew);

    const out = await tagwire(['start', '-c', demo.file]);
    expect(out.code).toBe(1);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('written by tagwire 9.0.0');
    expect(lines[0]).toContain('nothing was changed');
    expect(snapshot(dataDir)).toEqual(before);
    expect(existsSync(path.join(dataDir, 'tagwire.db-wal'))).toBe(false);
  });
});
