// `tagwire init`: a real-site starter that validates, logs in with the printed password only, and
// never overwrites a site's files unless told to.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/broker/auth/password.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { freePort } from '../helpers/net.js';
import { tagwire } from './cli.js';

interface StarterJson {
  gateway: { id: string; dataDir: string };
  broker: {
    listeners: Array<{ host: string; port: number }>;
    allowAnonymous: boolean;
    users: Array<{ username: string; passwordHash: string; role?: string }>;
  };
  devices: Array<{ id: string; driver: string; enabled: boolean }>;
  simulators?: unknown;
  http: { port: number };
}

const passwordOf = (stdout: string): string => /password: (\S+)/.exec(stdout)?.[1] ?? '';

describe('tagwire init', () => {
  it('writes a starter that validates, with login required and the password stored as a hash', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-init-'));
    const out = await tagwire(['init', 'site', '--id', 'line7'], { cwd: dir });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const password = passwordOf(out.stdout);
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(out.stdout.split(password)).toHaveLength(2); // printed exactly once

    const text = readFileSync(path.join(dir, 'site/gateway.config.json'), 'utf8');
    expect(text).not.toContain(password);
    const config = JSON.parse(text) as StarterJson;
    expect(config.gateway.id).toBe('line7');
    expect(config.simulators).toBeUndefined();
    expect(config.broker.listeners[0]!.host).toBe('0.0.0.0');
    expect(config.broker.allowAnonymous).toBe(false);
    const admin = config.broker.users.find((u) => u.username === 'admin')!;
    expect(admin.passwordHash).toMatch(/^scrypt\$/);
    expect(admin).toHaveProperty('role', 'admin');
    expect(await verifyPassword(password, admin.passwordHash)).toBe(true);
    expect(config.devices).toEqual([expect.objectContaining({ id: 'plc1', driver: 'modbus' })]);

    const validate = await tagwire(['validate'], { cwd: path.join(dir, 'site') });
    expect(validate.stdout).toMatch(/ok \(1 device, 1 mapping, 3 tags\)/);
    expect(validate.code).toBe(0);
  });

  it('refuses to overwrite without --force and leaves the files as they were', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-init-'));
    expect((await tagwire(['init', dir])).code).toBe(0);
    const file = path.join(dir, 'gateway.config.json');
    writeFileSync(file, '{"edited": true}');
    const again = await tagwire(['init', dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exist');
    expect(again.stderr).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('{"edited": true}');
    const forced = await tagwire(['init', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveProperty('broker.allowAnonymous', false);
  });

  it('gives a broker that admits admin with the printed password and refuses anonymous clients', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-init-'));
    const out = await tagwire(['init', dir]);
    const password = passwordOf(out.stdout);
    const file = path.join(dir, 'gateway.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as StarterJson;
    const port = await freePort();
    // On loopback for the test (anonymous would be allowed there if the config let it).
    config.broker.listeners[0] = { ...config.broker.listeners[0]!, host: '127.0.0.1', port };
    config.http.port = await freePort();
    writeFileSync(file, JSON.stringify(config));
    const gateway = new Gateway(await loadConfig(file), { log: silentLogger() });
    await gateway.start();
    try {
      const anonymous = mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      await expect(anonymous).rejects.toThrow();
      const wrong = mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'admin',
        password: 'not-it',
        reconnectPeriod: 0,
      });
      await expect(wrong).rejects.toThrow();
      const admin = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        username: 'admin',
        password,
        reconnectPeriod: 0,
      });
      await admin.endAsync();
    } finally {
      await gateway.stop();
    }
  });
});
