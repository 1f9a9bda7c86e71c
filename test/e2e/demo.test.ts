// The demo, end to end and in process: simulated press and oven -> drivers -> mapping -> broker ->
// MQTT.js and Mosquitto's clients; commands back through the router to the simulated device.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { shortestFloat32 } from '../../drivers/float32.js';
import { demoConfig, type DemoConfig } from '../helpers/demo-config.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const PRESS = 'acme/plant1/line1/press1';

interface Received {
  topic: string;
  payload: Record<string, unknown>;
  /** The payload as sent, where the digits of a number show. */
  text: string;
  retain: boolean;
}

let demo: DemoConfig;
let gateway: Gateway;
let client: MqttClient;
const received: Received[] = [];

function lastOn(topic: string): Received | undefined {
  return received.findLast((m) => m.topic === topic);
}

/** Publishes a command and waits for the result with the same requestId. */
async function command(tag: string, payload: string, requestId: string): Promise<Record<string, unknown>> {
  await client.publishAsync(`${PRESS}/${tag}/set`, payload, { qos: 1 });
  const result = await waitFor(
    () => received.find((m) => m.topic === `${PRESS}/${tag}/set/result` && m.payload.requestId === requestId),
    15_000,
    `result of ${requestId}`,
  );
  return result.payload;
}

/** Reads holding register 200 (the press setpoint) straight from the simulator with mbpoll. */
async function setpointOnDevice(): Promise<number> {
  const out = await run('mbpoll', [
    '-m',
    'tcp',
    '-p',
    String(demo.modbusPort),
    '-a',
    '1',
    '-r',
    '201',
    '-t',
    '4',
    '-1',
    '127.0.0.1',
  ]);
  const match = /\[201\]:\s+(-?\d+)/.exec(out.stdout);
  if (!match) throw new Error(`mbpoll gave no value: ${out.stdout} ${out.stderr}`);
  return Number(match[1]);
}

beforeAll(async () => {
  demo = await demoConfig((config) => {
    (config.gateway as Record<string, unknown>).statusIntervalSec = 1;
  });
  gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
  await gateway.start();
  client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`, {
    protocolVersion: 5,
    clientId: 'e2e-demo',
  });
  client.on('message', (topic, payload, packet) => {
    received.push({
      topic,
      payload: JSON.parse(payload.toString()) as Record<string, unknown>,
      text: payload.toString(),
      retain: packet.retain,
    });
  });
  await client.subscribeAsync('acme/#', { qos: 1 });
}, 120_000);

afterAll(async () => {
  await client?.endAsync();
  await gateway?.stop();
});

describe('the demo gateway', () => {
  it('publishes the press tags as contract JSON', async () => {
    const temperature = await waitFor(() => lastOn(`${PRESS}/temperature`), 15_000, 'temperature');
    expect(temperature.payload).toMatchObject({ quality: 'good', unit: 'degC' });
    expect(typeof temperature.payload.value).toBe('number');
    expect(Math.abs((temperature.payload.ts as number) - Date.now())).toBeLessThan(60_000);
    const running = await waitFor(() => lastOn(`${PRESS}/running`), 15_000, 'running');
    expect(typeof running.payload.value).toBe('boolean');
    const cycles = await waitFor(() => lastOn(`${PRESS}/cycles`), 15_000, 'cycles');
    expect(Number.isInteger(cycles.payload.value)).toBe(true);
  });

  it('publishes the oven tags from the OPC UA simulator', async () => {
    const oven = await waitFor(
      () =>
        received.find((m) => m.topic.startsWith('acme/plant1/line1/oven1/') && m.payload.quality === 'good'),
      30_000,
      'an oven value',
    );
    expect(oven.payload).toHaveProperty('value');
  });

  it('keeps values retained: a late subscriber gets them at once', async () => {
    await waitFor(() => lastOn(`${PRESS}/temperature`), 15_000, 'temperature');
    const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`, { protocolVersion: 4 });
    try {
      const first = new Promise<{ topic: string; retain: boolean }>((resolve) =>
        late.on('message', (topic, _payload, packet) => resolve({ topic, retain: packet.retain })),
      );
      await late.subscribeAsync(`${PRESS}/temperature`);
      const message = await first;
      expect(message).toEqual({ topic: `${PRESS}/temperature`, retain: true });
    } finally {
      await late.endAsync();
    }
  });

  it('serves mosquitto_sub as a second, independent client', async () => {
    const out = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(demo.mqttPort),
      '-t',
      `${PRESS}/#`,
      '-v',
      '-C',
      '3',
      '-W',
      '15',
    ]);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const [topic, ...rest] = line.split(' ');
      expect(topic?.startsWith(`${PRESS}/`)).toBe(true);
      expect(JSON.parse(rest.join(' '))).toHaveProperty('quality');
    }
  });

  it('writes the setpoint and answers ok with the read-back value', async () => {
    const result = await command('setpoint', '{"value":123,"requestId":"e2e-ok"}', 'e2e-ok');
    expect(result).toMatchObject({ ok: true, value: 123, requestId: 'e2e-ok' });
    expect(await setpointOnDevice()).toBe(123);
    const published = await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/setpoint` && m.payload.value === 123),
      15_000,
      'setpoint 123 published',
    );
    expect(published.payload.quality).toBe('good');
  });

  it('takes a command from mosquitto_pub with a bare value', async () => {
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(demo.mqttPort),
      '-t',
      `${PRESS}/setpoint/set`,
      '-m',
      '77',
    ]);
    await waitFor(
      () => received.find((m) => m.topic === `${PRESS}/setpoint/set/result` && m.payload.value === 77),
      15_000,
      'result of the bare command',
    );
    expect(await setpointOnDevice()).toBe(77);
  });

  it.each([
    ['setpoint', '{"value":900,"requestId":"e2e-range"}', 'e2e-range', /900.*above.*max 500/],
    ['setpoint', '{"value":"hot","requestId":"e2e-type"}', 'e2e-type', /number|integer|type/i],
    ['temperature', '{"value":20,"requestId":"e2e-ro"}', 'e2e-ro', /not writable/],
    ['nosuchtag', '{"value":1,"requestId":"e2e-unknown"}', 'e2e-unknown', /unknown tag|no tag/i],
  ])('refuses %s %s before it reaches the device', async (tag, payload, requestId, error) => {
    const before = await setpointOnDevice();
    const result = await command(tag, payload, requestId);
    expect(result.ok).toBe(false);
    expect(String(result.error)).toMatch(error);
    expect(await setpointOnDevice()).toBe(before);
  });

  it('publishes float32 values as the shortest decimal that is the same float32 (Modbus and OPC UA)', async () => {
    const valueText = (m: Received): string => /"value":([^,}]+)/.exec(m.text)![1]!;
    const shortest = (text: string): boolean => String(shortestFloat32(Number(text))) === text;
    // The press temperature is a Modbus float32 that moves: every value published so far.
    await waitFor(
      () => received.filter((m) => m.topic === `${PRESS}/temperature`).length >= 2,
      15_000,
      'two temperatures',
    );
    const temperatures = received.filter((m) => m.topic === `${PRESS}/temperature`).map(valueText);
    expect(temperatures.filter((t) => !shortest(t))).toEqual([]);
    expect(temperatures.some((t) => t.includes('.'))).toBe(true);
    // The oven fan speed is an OPC UA Float: 33.3 becomes 33.29999923706055 on the device.
    const OVEN = 'acme/plant1/line1/oven1';
    await client.publishAsync(`${OVEN}/fanSpeed/set`, '{"value":33.3,"requestId":"fan-1"}', { qos: 1 });
    const result = await waitFor(
      () =>
        received.find((m) => m.topic === `${OVEN}/fanSpeed/set/result` && m.payload.requestId === 'fan-1'),
      30_000,
      'the fan speed result',
    );
    expect(result.payload).toMatchObject({ ok: true, value: 33.3 });
    const published = await waitFor(
      () => received.findLast((m) => m.topic === `${OVEN}/fanSpeed` && m.payload.value !== 50),
      15_000,
      'the new fan speed',
    );
    expect(valueText(published)).toBe('33.3');
  });

  it('republishes device status on an interval, so its counters move while the state does not', async () => {
    const sys = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
    try {
      const requests: number[] = [];
      sys.on('message', (_topic, payload) => {
        const status = JSON.parse(payload.toString()) as { state: string; requests: number };
        if (status.state === 'connected') requests.push(status.requests);
      });
      await sys.subscribeAsync('$SYS/tagwire/devices/press1');
      // statusIntervalSec is 1 in this config: three statuses arrive without any state change.
      await waitFor(() => requests.length >= 3, 15_000, 'three press1 statuses');
      expect(requests.at(-1)!).toBeGreaterThan(requests[0]!);
    } finally {
      await sys.endAsync();
    }
  });

  it('reports device health on $SYS/tagwire/devices', async () => {
    const sys = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
    try {
      const statuses = new Map<string, Record<string, unknown>>();
      sys.on('message', (topic, payload) =>
        statuses.set(topic, JSON.parse(payload.toString()) as Record<string, unknown>),
      );
      await sys.subscribeAsync('$SYS/tagwire/devices/+');
      const press = await waitFor(() => statuses.get('$SYS/tagwire/devices/press1'), 15_000, 'press1 status');
      expect(press).toMatchObject({ deviceId: 'press1', state: 'connected' });
      expect(press.requests as number).toBeGreaterThan(0);
    } finally {
      await sys.endAsync();
    }
  });

  it('answers on the MQTT 5 response topic with the correlation data', async () => {
    const responses: Array<{ payload: Record<string, unknown>; correlation?: Buffer }> = [];
    client.on('message', (topic, payload, packet) => {
      if (topic === 'e2e/replies') {
        responses.push({
          payload: JSON.parse(payload.toString()) as Record<string, unknown>,
          correlation: packet.properties?.correlationData,
        });
      }
    });
    await client.subscribeAsync('e2e/replies', { qos: 1 });
    await client.publishAsync(`${PRESS}/setpoint/set`, '{"value":200}', {
      qos: 1,
      properties: { responseTopic: 'e2e/replies', correlationData: Buffer.from('corr-42') },
    });
    const response = await waitFor(() => responses[0], 15_000, 'response topic message');
    expect(response.payload).toMatchObject({ ok: true, value: 200 });
    expect(response.correlation?.toString()).toBe('corr-42');
  });
});
