// `tagwire backup` of a running gateway and `tagwire restore` onto a machine that lost everything:
// config, mappings, PKI and the SQLite state (a retained message) come back; a backup from a newer
// schema, a running data folder and existing files (without --force) are refused.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { currentSchema } from '../../src/data-schema.js';
import { demoConfig, repoRoot } from '../helpers/demo-config.js';
import { retainedOn } from '../helpers/retained.js';
import { waitFor } from '../helpers/net.js';
import { tagwire } from './cli.js';

/** The demo with its Modbus device only (quick), its mappings copied beside its config. */
async function site() {
  const demo = await demoConfig((config) => {
    config.devices = config.devices.filter((d) => d.driver === 'modbus');
    config.simulators.opcua = [];
    config.mappings = ['mappings/*.json'];
  });
  mkdirSync(path.join(demo.dir, 'mappings'));
  cpSync(path.join(repoRoot, 'mappings/press1.json'), path.join(demo.dir, 'mappings/press1.json'));
  // A PKI file in the data folder stands for the OPC UA certificates.
  const pkiFile = path.join(demo.dir, 'data/pki/opcua/own/certs/tagwire_certificate.pem');
  mkdirSync(path.dirname(pkiFile), { recursive: true });
  writeFileSync(pkiFile, 'certificate');
  return { ...demo, pkiFile };
}

describe('tagwire backup and restore', () => {
  it('backs up a running gateway and restores it all onto an emptied machine', async () => {
    const demo = await site();
    const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await gateway.start();
    const archive = path.join(mkdtempSync(path.join(tmpdir(), 'tagwire-bk-')), 'site.tar.gz');
    try {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
      await client.publishAsync('keep/me', 'kept', { qos: 1, retain: true });
      await client.endAsync();
      await waitFor(
        async () => (await retainedOn(demo.mqttPort, 'keep/me')) === 'kept',
        20_000,
        'the retained message',
      );
      const out = await tagwire(['backup', archive, '-c', demo.file]);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      // While running: the live database has its WAL, the backup took a consistent copy anyway.
      expect(existsSync(path.join(demo.dir, 'data/tagwire.db-wal'))).toBe(true);
      const refused = await tagwire(['restore', archive, '--force']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is in use');
    } finally {
      await gateway.stop();
    }
    const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' });
    expect(listing).toContain('./manifest.json');
    expect(listing).toContain(`./files${demo.file}`);
    expect(listing).toContain('./data/tagwire.db');
    expect(listing).not.toContain('tagwire.db-wal');

    // The machine loses its config folder (data included), then restores.
    const config = readFileSync(demo.file, 'utf8');
    rmSync(demo.dir, { recursive: true });
    const out = await tagwire(['restore', archive]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(readFileSync(demo.file, 'utf8')).toBe(config);
    expect(existsSync(path.join(demo.dir, 'mappings/press1.json'))).toBe(true);
    expect(readFileSync(demo.pkiFile, 'utf8')).toBe('certificate');
    const again = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await again.start();
    try {
      expect(await retainedOn(demo.mqttPort, 'keep/me')).toBe('kept');
    } finally {
      await again.stop();
    }

    const overwrite = await tagwire(['restore', archive]);
    expect(overwrite.code).toBe(1);
    expect(overwrite.stderr).toContain('--force');
    // Restored over a service's files (as root): the config keeps its owner and mode, the data
    // files go to the data folder's owner.
    const root = process.getuid?.() === 0;
    if (root) {
      chownSync(demo.file, 1, 1);
      chmodSync(demo.file, 0o640);
      chownSync(path.join(demo.dir, 'data'), 1, 1);
    }
    expect((await tagwire(['restore', archive, '--force'])).code).toBe(0);
    if (root) {
      expect(statSync(demo.file)).toMatchObject({ uid: 1, gid: 1 });
      expect(statSync(demo.file).mode & 0o777).toBe(0o640);
      expect(statSync(path.join(demo.dir, 'data/tagwire.db')).uid).toBe(1);
      expect(statSync(demo.pkiFile).uid).toBe(1);
    }
  }, 120_000);

  it('refuses a backup from a newer schema and restores nothing', async () => {
    const demo = await site();
    const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
    await gateway.start();
    await gateway.stop();
    const work = mkdtempSync(path.join(tmpdir(), 'tagwire-bk-'));
    const archive = path.join(work, 'site.tar.gz');
    expect((await tagwire(['backup', archive, '-c', demo.file])).code).toBe(0);
    // The same backup as a newer tagwire would write it.
    const unpacked = path.join(work, 'x');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', archive, '-C', unpacked]);
    const manifest = JSON.parse(readFileSync(path.join(unpacked, 'manifest.json'), 'utf8'));
    // No bridge ran, so no outbox database: the schema of the two saved components.
    expect(manifest.schema).toEqual({ broker: currentSchema().broker, audit: currentSchema().audit });
    manifest.schema.broker += 1;
    manifest.release = '9.0.0';
    writeFileSync(path.join(unpacked, 'manifest.json'), JSON.stringify(manifest));
    const newer = path.join(work, 'newer.tar.gz');
    execFileSync('tar', ['-czf', newer, '-C', unpacked, '.']);

    rmSync(demo.dir, { recursive: true });
    const out = await tagwire(['restore', newer, '--force']);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('made by tagwire 9.0.0 with a newer data schema');
    expect(out.stderr).toContain('nothing restored');
    expect(existsSync(demo.dir)).toBe(false);

    const junk = path.join(work, 'junk.tar.gz');
    writeFileSync(junk, 'not a tarball');
    const notBackup = await tagwire(['restore', junk]);
    expect(notBackup.code).toBe(1);
    expect(notBackup.stderr).toContain('is not a tagwire backup');
  }, 120_000);
});
