// `tagwire init [DIR]`: a starter config for a real site (not the demo): no simulators, the broker on
// every interface with login required, an `admin` user whose random password is printed once and
// stored only as a scrypt hash, and one example Modbus device and mapping to adapt.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { hashPassword } from '../broker/auth/password.js';
import { loadConfig } from '../config/load.js';
import { reportConfigError } from './config-errors.js';
import { DEFAULT_CONFIG, parseCommand, systemConfigDir } from './options.js';

const USAGE = `usage: tagwire init [DIR] [--id NAME] [--force]
  Writes DIR/gateway.config.json and DIR/mappings/example-plc.json (DIR: the current folder by
  default) for a real site: no simulators, MQTT on all interfaces with login required, an "admin"
  user whose password is printed once. Refuses to overwrite existing files without --force.
  --id NAME   the gateway's id (default: this machine's host name)`;

export const EXAMPLE_MAPPING = 'mappings/example-plc.json';
/** Where an installed service keeps its data: the unit's StateDirectory. */
export const SERVICE_DATA_DIR = '/var/lib/tagwire';

/** A gateway id from the host name, reduced to the characters the schema allows. */
function defaultId(): string {
  const cleaned = os
    .hostname()
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return cleaned || 'edge-1';
}

/** 24 random bytes, base64url: 32 characters that survive shells and config files. */
function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

export function starterConfig(id: string, passwordHash: string, dataDir: string): Record<string, unknown> {
  return {
    gateway: { id, dataDir, logLevel: 'info' },
    broker: {
      listeners: [{ protocol: 'mqtt', host: '0.0.0.0', port: 1883 }],
      allowAnonymous: false,
      users: [{ username: 'admin', passwordHash, role: 'admin' }],
    },
    devices: [
      {
        id: 'plc1',
        driver: 'modbus',
        // Off until edited: a starter never polls an address nobody chose.
        enabled: false,
        description: 'Example: set host, port and unitId to your PLC, then enabled to true',
        transport: { type: 'tcp', host: '192.0.2.10', port: 502 },
        unitId: 1,
        timeoutMs: 1000,
      },
    ],
    mappings: ['mappings/*.json'],
    bridges: [],
    http: { host: '127.0.0.1', port: 8080 },
  };
}

export function starterMapping(id: string): Record<string, unknown> {
  return {
    device: 'plc1',
    topic: `site/${id}/plc1`,
    defaults: { pollMs: 1000, qos: 1, retain: true },
    tags: [
      { name: 'temperature', address: 'hr:0', type: 'int16', scale: 0.1, unit: 'degC', deadband: 0.5 },
      { name: 'running', address: 'coil:0', type: 'bool' },
      { name: 'setpoint', address: 'hr:10', type: 'int16', writable: true, min: 0, max: 1000 },
    ],
  };
}

export async function main(args: readonly string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: 'init',
    usage: USAGE,
    options: {
      id: { type: 'string' },
      force: { type: 'boolean' },
    },
    positionals: (given) => (given.length > 1 ? `one folder at most, got ${given.length}` : undefined),
  });
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const dir = path.resolve(positionals[0] ?? '.');
  const id = values.id ?? defaultId();
  const configFile = path.join(dir, DEFAULT_CONFIG);
  const mappingFile = path.join(dir, EXAMPLE_MAPPING);
  const existing = [configFile, mappingFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !values.force) {
    process.stderr.write(
      `tagwire init: ${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}: nothing written (--force overwrites)\n`,
    );
    return 1;
  }
  // The system config folder gets the service's data folder; anywhere else data stays beside the config.
  const dataDir = dir === path.resolve(systemConfigDir()) ? SERVICE_DATA_DIR : './data';
  const password = randomPassword();
  const config = starterConfig(id, await hashPassword(password), dataDir);
  await mkdir(path.dirname(mappingFile), { recursive: true });
  // The config holds a password hash: readable by its owner (and the service's group) only.
  await writeFile(configFile, JSON.stringify(config, null, 2) + '\n', { mode: 0o640 });
  await writeFile(mappingFile, JSON.stringify(starterMapping(id), null, 2) + '\n');

  try {
    await loadConfig(configFile);
  } catch (err) {
    reportConfigError(err, 'tagwire init: the starter config does not validate: this is a bug');
    return 1;
  }
  process.stdout.write(
    [
      `wrote ${configFile}`,
      `wrote ${mappingFile}`,
      '',
      `MQTT user "admin", password: ${password}`,
      '  shown once, stored only as a hash: keep it now (tagwire passwd makes a new hash)',
      '',
      'next:',
      `  1. edit the device "plc1" (then set "enabled": true) and ${EXAMPLE_MAPPING} for your PLC`,
      `  2. tagwire validate -c ${configFile}`,
      `  3. tagwire doctor -c ${configFile}`,
      '',
    ].join('\n'),
  );
  return 0;
}
