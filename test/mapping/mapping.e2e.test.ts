// The mapping layer end to end: our Modbus simulator, the Modbus driver, the publisher and the
// embedded broker, seen by an MQTT.js v5 subscriber. Topic templates, payload formats, MQTT 5
// properties, publish policies, device templates, and a hot reload while messages flow.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { waitFor } from '../helpers/net.js';
import { connect, simDevice, startStack, type Client, type Stack } from './stack.js';

let stack: Stack;
let client: Client;

const valueOf = (payload: string): unknown => (JSON.parse(payload) as { value: unknown }).value;
const mappings = {
  'press1.json': {
    device: 'press1',
    topic: '{site}/{device}',
    vars: { site: 'acme' },
    fields: { line: 'l1' },
    defaults: { pollMs: 50, retain: true, heartbeatMs: 0 },
    tags: [
      { name: 'counter', address: 'hr:300', type: 'uint16' },
      { name: 'constant', address: 'hr:310', type: 'uint16', publish: 'periodic', periodMs: 200 },
      { name: 'steady', address: 'hr:310', type: 'uint16', heartbeatMs: 300 },
      {
        name: 'temperature',
        address: 'hr:100',
        type: 'float32',
        unit: 'degC',
        expirySec: 60,
        deadband: 1000,
      },
    ],
  },
  'press1-dash.json': {
    device: 'press1',
    topic: 'dash/{device}',
    format: 'value',
    defaults: { pollMs: 100, retain: true },
    tags: [{ name: 'pressure', address: 'hr:102', type: 'uint16', scale: 0.1 }],
  },
  'drives.json': {
    topic: 'acme/{hall}/drives/{device}',
    format: 'json-device',
    instances: [
      { device: 'drive1', vars: { hall: 'h1' } },
      { device: 'drive2', vars: { hall: 'h2' } },
    ],
    defaults: { pollMs: 100 },
    tags: [
      { name: 'counter', address: 'hr:300', type: 'uint16' },
      { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, min: 0, max: 500 },
    ],
  },
};

beforeAll(async () => {
  stack = await startStack({
    simulators: [
      {
        port: 0,
        unitIds: [1, 2],
        periodMs: 50,
        signals: [
          { address: 'hr:300', kind: 'counter', type: 'uint16', step: 1 },
          { address: 'hr:310', kind: 'constant', type: 'uint16', value: 7 },
        ],
      },
    ],
    devices: [
      simDevice('press1', 0),
      simDevice('drive1', 0, { unitId: 1 }),
      simDevice('drive2', 0, { unitId: 2 }),
    ],
    mappings,
  });
  client = await connect(stack.mqttPort, { protocolVersion: 5 });
  await client.mqtt.subscribeAsync(['acme/#', 'dash/#'], { qos: 1 });
});

afterAll(async () => {
  await client?.close();
  await stack?.stop();
});

describe('mapping end to end', () => {
  it('json: template topic, contract payload with static fields, MQTT 5 properties, publish on change', async () => {
    await waitFor(
      () => client.messages.filter((m) => m.topic === 'acme/press1/counter').length >= 5,
      10_000,
      'counter messages',
    );
    const counter = client.messages.filter((m) => m.topic === 'acme/press1/counter');
    const first = JSON.parse(counter[0]!.payload) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(['value', 'ts', 'quality', 'line']);
    expect(first).toMatchObject({ quality: 'good', line: 'l1' });
    expect(counter[0]!.properties).toMatchObject({
      contentType: 'application/json',
      userProperties: { device: 'press1' },
    });
    const values = counter.map((m) => valueOf(m.payload) as number);
    for (let i = 1; i < values.length; i++) expect(values[i]).not.toBe(values[i - 1]);
  });

  it('message expiry and the unit user property', async () => {
    const msg = await client.next('acme/press1/temperature');
    expect(msg.properties).toMatchObject({ userProperties: { device: 'press1', unit: 'degC' } });
    expect(msg.properties!.messageExpiryInterval).toBeGreaterThan(0);
    expect(msg.properties!.messageExpiryInterval).toBeLessThanOrEqual(60);
  });

  it('periodic publishes an unchanged value every period; heartbeat republishes it', async () => {
    await waitFor(
      () => client.messages.filter((m) => m.topic === 'acme/press1/constant').length >= 3,
      10_000,
      'periodic',
    );
    await waitFor(
      () => client.messages.filter((m) => m.topic === 'acme/press1/steady').length >= 2,
      10_000,
      'heartbeat',
    );
    for (const topic of ['acme/press1/constant', 'acme/press1/steady']) {
      expect(
        new Set(client.messages.filter((m) => m.topic === topic).map((m) => valueOf(m.payload))),
      ).toEqual(new Set([7]));
    }
  });

  it('value: the bare value on its own topic, scaled', async () => {
    const msg = await client.next('dash/press1/pressure');
    expect(Number.isFinite(JSON.parse(msg.payload))).toBe(true);
    expect(msg.payload).not.toContain('{');
  });

  it('json-device: one snapshot per device per scan, from a device template', async () => {
    for (const [hall, device] of [
      ['h1', 'drive1'],
      ['h2', 'drive2'],
    ] as const) {
      const topic = `acme/${hall}/drives/${device}`;
      const msg = await client.next(
        topic,
        0,
        (p) => Object.keys((JSON.parse(p) as { tags: object }).tags).length === 2,
      );
      const snapshot = JSON.parse(msg.payload) as {
        ts: number;
        device: string;
        tags: Record<string, { quality: string }>;
      };
      expect(snapshot.device).toBe(device);
      expect(snapshot.tags.counter!.quality).toBe('good');
      expect(snapshot.tags.setpoint!.quality).toBe('good');
    }
  });

  it('device-level commands reach the right instance of a template', async () => {
    const from = client.messages.length;
    await client.mqtt.subscribeAsync('acme/h2/drives/drive2/set/result');
    await client.mqtt.publishAsync('acme/h2/drives/drive2/set', '{"values":{"setpoint":9}}', { qos: 1 });
    const result = JSON.parse(
      (await client.next('acme/h2/drives/drive2/set/result', from)).payload,
    ) as Record<string, unknown>;
    expect(result).toMatchObject({ ok: true, values: { setpoint: 9 } });
    const units = stack.sims[0]!.units.units;
    expect(units.get(2)!.memory.getRegister('hr', 200)).toBe(9);
    expect(units.get(1)!.memory.getRegister('hr', 200)).not.toBe(9);
  });

  it('hot reload: only the changed device is rebuilt, removed tags lose their retained message, unchanged tags flow on', async () => {
    // The new config: the dashboard mapping goes away, the counter gets a deadband, a tag is added.
    rmSync(stack.ws.file('mappings/press1-dash.json'));
    const press = structuredClone(mappings['press1.json']);
    press.tags.push({ name: 'cycles', address: 'hr:104', type: 'uint32' });
    stack.ws.write('mappings/press1.json', press);
    const next = await loadConfig(stack.ws.file('gateway.config.json'));
    const from = client.messages.length;
    // The gateway's own reload: it rebuilds the changed device and updates publisher and commands.
    const diff = await stack.gateway.reload(next);
    expect(diff.devices.changed).toEqual(['press1']);
    expect(diff.tags.removed).toEqual([{ device: 'press1', tag: 'pressure' }]);
    expect(diff.tags.added).toEqual([{ device: 'press1', tag: 'cycles' }]);

    // The removed tag's retained message is cleared (an empty retained publish).
    const cleared = await client.next('dash/press1/pressure', from, (p) => p === '');
    expect(cleared.payload).toBe('');
    const late = await connect(stack.mqttPort);
    try {
      await late.mqtt.subscribeAsync('dash/#');
      await late.mqtt.subscribeAsync('acme/press1/counter');
      await late.next('acme/press1/counter');
      expect(late.messages.filter((m) => m.topic.startsWith('dash/'))).toEqual([]);
    } finally {
      await late.close();
    }
    // The added tag publishes; the counter and the untouched drives keep flowing.
    await client.next('acme/press1/cycles', from);
    const countAt = (topic: string) => client.messages.slice(from).filter((m) => m.topic === topic).length;
    await waitFor(
      () => countAt('acme/press1/counter') >= 5 && countAt('acme/h1/drives/drive1') >= 5,
      10_000,
      'flow after reload',
    );
    // The counter's publishing state survived: never the same value twice in a row across the reload.
    const values = client.messages
      .filter((m) => m.topic === 'acme/press1/counter')
      .map((m) => valueOf(m.payload));
    for (let i = 1; i < values.length; i++) expect(values[i]).not.toBe(values[i - 1]);
    // Commands follow the new mappings: the added tag answers, the removed mapping's topics do not.
    const before = client.messages.length;
    await client.mqtt.subscribeAsync(['acme/press1/cycles/get/result', 'dash/press1/pressure/get/result']);
    await client.mqtt.publishAsync('dash/press1/pressure/get', '', { qos: 1 });
    await client.mqtt.publishAsync('acme/press1/cycles/get', '', { qos: 1 });
    const read = JSON.parse((await client.next('acme/press1/cycles/get/result', before)).payload) as Record<
      string,
      unknown
    >;
    expect(read).toMatchObject({ ok: true, value: expect.any(Number) });
    // Every command the router takes gets an audit row, stored in arrival order: the later read's
    // row is there, the removed topic's is not; and nothing was answered on it.
    const rows = await waitFor(
      async () => {
        const found = await stack.audit.query({ device: 'press1' });
        return found.some((r) => r.topic === 'acme/press1/cycles/get') ? found : undefined;
      },
      5000,
      'the audit row of the read',
    );
    expect(rows.filter((r) => r.topic.startsWith('dash/'))).toEqual([]);
    await stack.flush(client, 'dash/flushed');
    expect(
      client.messages.slice(before).filter((m) => m.topic === 'dash/press1/pressure/get/result'),
    ).toEqual([]);
  });
});
