// A driver added as one folder: this folder's tank driver is registered through loadConfig's
// `drivers` list only, and runs end to end: its device and tag keys are validated (a typo is named),
// its simulator starts from `simulators.tank`, its samples reach an MQTT.js subscriber, and a
// command writes to the simulated tank and answers with the value read back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinDrivers } from '../../../drivers/index.js';
import {
  ConfigError,
  formatProblem,
  loadConfig,
  type LoadedConfig,
  type LoadOptions,
} from '../../../src/config/load.js';
import { Gateway } from '../../../src/gateway.js';
import { checkDevices } from '../../../src/ops/doctor/devices.js';
import { silentLogger } from '../../../src/log.js';
import { freePort, waitFor } from '../../helpers/net.js';
import { tankDriver } from './index.js';

const drivers = [...builtinDrivers, tankDriver];
const TOPIC = 'plant/tank1';

let dir: string;
let mqttPort: number;
let tankPort: number;

function writeConfig(device: Record<string, unknown>, tags: unknown[]): string {
  const file = path.join(dir, 'gateway.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      gateway: { id: 'tank-test', dataDir: path.join(dir, 'data') },
      broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }], allowAnonymous: true },
      devices: [{ id: 'tank1', driver: 'tank', ...device }],
      mappings: ['tank1.json'],
      simulators: { tank: [{ port: tankPort, stepMs: 20 }] },
    }),
  );
  writeFileSync(
    path.join(dir, 'tank1.json'),
    JSON.stringify({ device: 'tank1', topic: TOPIC, defaults: { pollMs: 50 }, tags }),
  );
  return file;
}

const goodTags = [
  { name: 'level', address: 'level' },
  { name: 'valve', address: 'valve', writable: true, min: 0, max: 100 },
];

async function problemsOf(file: string, options: LoadOptions = { drivers }): Promise<string[]> {
  try {
    await loadConfig(file, options);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => formatProblem(p).replace(`${dir}/`, ''));
    throw err;
  }
  return [];
}

/** Asks the simulated tank itself, over its own protocol, for one value. */
async function onTank(name: string): Promise<number | null> {
  const socket = net.connect(tankPort, '127.0.0.1');
  try {
    socket.write(`${JSON.stringify({ id: 1, op: 'read', names: [name] })}\n`);
    const [line] = (
      await new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())))
    ).split('\n');
    return (JSON.parse(line!) as { values: Record<string, number | null> }).values[name] ?? null;
  } finally {
    socket.destroy();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tagwire-tank-'));
  mqttPort = await freePort();
  tankPort = await freePort();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a driver registered from its own folder', () => {
  it('is unknown to a gateway that was not given it', async () => {
    const file = writeConfig({ port: tankPort }, goodTags);
    const problems = await problemsOf(file, { drivers: builtinDrivers });
    expect(problems[0]).toMatch(/^gateway\.config\.json: \/devices\/0\/driver: /);
    expect(problems.join('\n')).toMatch(/"modbus"/);
  });

  it('has its device, tag and simulator keys checked by its own schemas and tag check', async () => {
    const file = writeConfig({ prot: tankPort }, [
      { name: 'level', address: 'Level' },
      { name: 'x', address: 'pump' },
    ]);
    expect(await problemsOf(file)).toEqual([
      'gateway.config.json: /devices/0: missing required key "port"',
      'gateway.config.json: /devices/0: unknown key "prot" (did you mean "port"?)',
      'tank1.json: /tags/0/address: must be lower-case letters (e.g. "level"), got "Level"',
      'tank1.json: /tags/1/address: the tank has no value "pump" (level, valve)',
    ]);
    writeConfig({ port: tankPort }, [{ name: 'x', address: 'pump' }]);
    expect(await problemsOf(file)).toEqual([
      'tank1.json: /tags/0/address: the tank has no value "pump" (level, valve)',
    ]);
  });

  describe('running', () => {
    let gateway: Gateway;
    let client: MqttClient;
    const received: Array<{ topic: string; payload: Record<string, unknown> }> = [];

    let loaded: LoadedConfig;

    beforeAll(async () => {
      loaded = await loadConfig(writeConfig({ port: tankPort }, goodTags), { drivers });
      // The doctor probes the device through the module's hook: nothing listens yet.
      const [down] = await checkDevices(loaded.config, loaded.mappings, loaded.drivers);
      expect(down).toMatchObject({ status: 'fail', subject: 'tank tank1', fix: 'start the tank' });
      expect(loaded.config.devices[0]).toMatchObject({ host: '127.0.0.1', timeoutMs: 1000, enabled: true });
      gateway = new Gateway(loaded, { log: silentLogger() });
      await gateway.start();
      client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
      client.on('message', (topic, payload) =>
        received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }),
      );
      await client.subscribeAsync(`${TOPIC}/#`, { qos: 1 });
    });

    afterAll(async () => {
      await client?.endAsync();
      await gateway?.stop();
    });

    it('is probed by the doctor through its own module', async () => {
      const findings = await checkDevices(loaded.config, loaded.mappings, loaded.drivers);
      expect(findings).toEqual([
        { status: 'ok', subject: 'tank tank1', message: expect.stringMatching(/answers: .*"level"/) },
      ]);
    });

    it('publishes the samples of its simulated tank, changing as the tank does', async () => {
      const levels = await waitFor(
        () => {
          const seen = received.filter((m) => m.topic === `${TOPIC}/level`).map((m) => m.payload.value);
          return new Set(seen).size >= 3 ? seen : undefined;
        },
        10_000,
        'three different levels',
      );
      expect(levels.every((v) => typeof v === 'number')).toBe(true);
      expect(received.find((m) => m.topic === `${TOPIC}/level`)?.payload.quality).toBe('good');
    });

    it('writes a command to the tank and answers with the value read back', async () => {
      await client.publishAsync(`${TOPIC}/valve/set`, JSON.stringify({ value: 42, requestId: 'v1' }), {
        qos: 1,
      });
      const result = await waitFor(
        () => received.find((m) => m.topic === `${TOPIC}/valve/set/result` && m.payload.requestId === 'v1'),
        10_000,
        'the command result',
      );
      expect(result.payload).toMatchObject({ ok: true, value: 42 });
      expect(await onTank('valve')).toBe(42);

      // Out of the tag's range: refused before the tank sees it.
      await client.publishAsync(`${TOPIC}/valve/set`, JSON.stringify({ value: 500, requestId: 'v2' }), {
        qos: 1,
      });
      const refused = await waitFor(
        () => received.find((m) => m.topic === `${TOPIC}/valve/set/result` && m.payload.requestId === 'v2'),
        10_000,
        'the refusal',
      );
      expect(refused.payload.ok).toBe(false);
      expect(await onTank('valve')).toBe(42);
    });
  });
});
