// Hot reload through the file system: a running gateway sees mapping and config edits, applies
// what it can, clears the retained messages of removed tags, and keeps running on a bad edit.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { demoConfig, repoRoot, type DemoConfig } from '../helpers/demo-config.js';
import { run, startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { retainedOn } from '../helpers/retained.js';

const PRESS = 'acme/plant1/line1/press1';

interface MappingJson {
  tags: Array<Record<string, unknown> & { name: string }>;
}

let demo: DemoConfig;
let mappingFile: string;
let gateway: Gateway;
let client: MqttClient;
const received: Array<{ topic: string; payload: string; at: number }> = [];
/** What the gateway logged at level error. */
const errors: Array<{ msg: string }> = [];

function editMapping(edit: (mapping: MappingJson) => void): void {
  const mapping = JSON.parse(readFileSync(mappingFile, 'utf8')) as MappingJson;
  edit(mapping);
  writeFileSync(mappingFile, JSON.stringify(mapping, null, 2));
}

beforeAll(async () => {
  demo = await demoConfig((config) => {
    config.simulators.opcua = [];
    config.devices = config.devices.filter((d) => d.driver !== 'opcua');
    config.mappings = ['press1.json'];
  });
  mappingFile = path.join(demo.dir, 'press1.json');
  copyFileSync(path.join(repoRoot, 'mappings/press1.json'), mappingFile);
  editMapping((m) => {
    for (const tag of m.tags) tag.pollMs = 200;
  });
  gateway = new Gateway(await loadConfig(demo.file), {
    log: pino(
      { level: 'error' },
      { write: (line: string) => errors.push(JSON.parse(line) as { msg: string }) },
    ),
    watch: true,
    watchDebounceMs: 100,
  });
  await gateway.start();
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
  client.on('message', (topic, payload) =>
    received.push({ topic, payload: payload.toString(), at: Date.now() }),
  );
  await client.subscribeAsync(`${PRESS}/#`);
  await waitFor(() => received.find((m) => m.topic === `${PRESS}/cycles`), 15_000, 'first cycles value');
}, 60_000);

afterAll(async () => {
  await client?.endAsync();
  await gateway?.stop();
});

describe('hot reload', () => {
  it('publishes a tag added to a mapping file, without a restart', async () => {
    editMapping((m) => m.tags.push({ name: 'pressureRaw', address: 'hr:102', type: 'uint16', pollMs: 200 }));
    const raw = await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/pressureRaw`),
      15_000,
      'the new tag',
    );
    expect(JSON.parse(raw.payload)).toMatchObject({ quality: 'good' });
  });

  it('clears the retained message of a removed tag while the other tags keep flowing', async () => {
    expect(await retainedOn(demo.mqttPort, `${PRESS}/doorClosed`)).toBeDefined();
    editMapping((m) => {
      m.tags = m.tags.filter((t) => t.name !== 'doorClosed');
    });
    await waitFor(
      async () => (await retainedOn(demo.mqttPort, `${PRESS}/doorClosed`)) === undefined,
      15_000,
      'retained cleared',
    );
    const after = Date.now();
    await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/cycles` && m.at > after),
      15_000,
      'cycles after the edit',
    );
  });

  it('rejects a broken edit and keeps the running config', async () => {
    const before = gateway.loaded;
    const logged = errors.length;
    editMapping((m) => m.tags.push({ name: 'broken', address: 'hr:xyz', type: 'int16' }));
    await waitFor(
      () => errors.slice(logged).find((l) => /config edit rejected/.test(l.msg)),
      15_000,
      'the edit rejected',
    );
    expect(gateway.loaded).toBe(before);
    const after = Date.now();
    await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/cycles` && m.at > after),
      15_000,
      'values still flowing',
    );
    expect(received.find((m) => m.topic === `${PRESS}/broken`)).toBeUndefined();
  });

  it('rebuilds a device whose connection changed, and it comes back', async () => {
    editMapping((m) => {
      m.tags = m.tags.filter((t) => t.name !== 'broken');
    });
    await waitFor(
      () => gateway.loaded.mappings[0]?.tags.every((t) => t.name !== 'broken'),
      15_000,
      'the fixed file applied',
    );
    const config = JSON.parse(readFileSync(demo.file, 'utf8')) as { devices: Array<{ timeoutMs?: number }> };
    config.devices[0]!.timeoutMs = 1500;
    const editedAt = Date.now();
    writeFileSync(demo.file, JSON.stringify(config, null, 2));
    await waitFor(
      () =>
        gateway.loaded.config.devices[0]?.driver === 'modbus' &&
        'timeoutMs' in gateway.loaded.config.devices[0] &&
        gateway.loaded.config.devices[0].timeoutMs === 1500,
      15_000,
      'device change applied',
    );
    const after = Date.now();
    await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/cycles` && m.at > after),
      15_000,
      'values from the rebuilt driver',
    );
    const status = gateway.devices().find((d) => d.deviceId === 'press1');
    expect(status?.state).toBe('connected');
    // A new driver: its connection state changed after the edit.
    expect(status!.since).toBeGreaterThanOrEqual(editedAt);
  });

  it('starts a bridge added to the config while running, as README says (no second start)', async () => {
    const upstream = await startMosquitto();
    try {
      const config = JSON.parse(readFileSync(demo.file, 'utf8')) as Record<string, unknown>;
      config.bridges = [
        { name: 'plant', url: `mqtt://127.0.0.1:${upstream.port}`, out: [{ filter: 'acme/#' }] },
      ];
      writeFileSync(demo.file, JSON.stringify(config, null, 2));
      const out = await run(
        'mosquitto_sub',
        ['-h', '127.0.0.1', '-p', String(upstream.port), '-t', 'acme/#', '-v', '-C', '2', '-W', '30'],
        40_000,
      );
      expect(out.stdout.trim().split('\n')).toHaveLength(2);
      expect(out.stdout).toContain(`${PRESS}/`);
    } finally {
      await upstream.stop();
    }
  }, 60_000);
});
