// Hot reload of command-only tag keys (issue 10): raising a tag's `max` applies to the next
// command without restarting its driver. The Modbus simulator runs outside the gateway here, so
// its connection count shows whether the driver reconnected.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModbusSimulator, type RunningModbusSimulator } from '../../drivers/modbus/simulator/index.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { workspace, type Workspace } from '../config/fixtures.js';
import { freePort } from '../helpers/net.js';
import { connect, type Client } from './stack.js';

const PRESS = 'acme/reload/press1';
let ws: Workspace;
let sim: RunningModbusSimulator;
let gateway: Gateway;
let client: Client;

function writeMapping(limits: Record<string, unknown>): void {
  ws.write('mappings/press1.json', {
    device: 'press1',
    topic: PRESS,
    defaults: { pollMs: 200 },
    tags: [
      { name: 'temperature', address: 'hr:100', type: 'float32', unit: 'degC' },
      { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, unit: 'degC', ...limits },
    ],
  });
}

beforeAll(async () => {
  ws = workspace();
  const [mqttPort, modbusPort] = [await freePort(), await freePort()];
  ws.write('gateway.config.json', {
    gateway: { id: 'edge-reload', dataDir: path.join(ws.dir, 'data'), logLevel: 'silent' },
    broker: { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }], sys: { intervalSec: 0 } },
    devices: [
      {
        id: 'press1',
        driver: 'modbus',
        transport: { type: 'tcp', host: '127.0.0.1', port: modbusPort },
        unitId: 1,
        reconnectMinMs: 100,
      },
    ],
    mappings: ['mappings/*.json'],
    simulators: { modbus: [{ port: modbusPort }] },
  });
  writeMapping({ min: 0, max: 500 });
  const loaded = await loadConfig(ws.file('gateway.config.json'));
  sim = await startModbusSimulator(loaded.config.simulators.modbus[0]!, silentLogger());
  gateway = new Gateway(loaded, { log: silentLogger(), simulators: false });
  await gateway.start();
  client = await connect(mqttPort, { clientId: 'reload-op' });
  await client.mqtt.subscribeAsync(`${PRESS}/#`, { qos: 1 });
  await client.next(`${PRESS}/temperature`);
}, 30_000);

afterAll(async () => {
  await client?.close();
  await gateway?.stop();
  await sim?.close();
  ws?.remove();
});

async function command(payload: string): Promise<Record<string, unknown>> {
  const from = client.messages.length;
  await client.mqtt.publishAsync(`${PRESS}/setpoint/set`, payload, { qos: 1 });
  return client.json(`${PRESS}/setpoint/set/result`, from);
}

describe('reloading command limits', () => {
  it('applies a new max to the next command without restarting the driver', async () => {
    expect(await command('900')).toEqual({ ok: false, error: 'value 900 above max 500' });
    const connections = sim.stats.connections;
    expect(connections).toBe(1);

    writeMapping({ min: -100, max: 1000, unit: 'K' });
    const diff = await gateway.reload(await loadConfig(ws.file('gateway.config.json')));
    expect(diff.devices.changed).toEqual([]);
    expect(diff.tags.changed).toEqual([{ device: 'press1', tag: 'setpoint' }]);

    const from = client.messages.length;
    expect(await command('900')).toMatchObject({ ok: true, value: 900 });
    expect(sim.units.units.get(1)!.memory.getRegister('hr', 200)).toBe(900);
    expect(await command('-100')).toMatchObject({ ok: true, value: -100 });
    expect(await command('1001')).toEqual({ ok: false, error: 'value 1001 above max 1000' });
    // The mapping layer took the edit in place too: the read-back carries the new unit.
    const readBack = await client.next(
      `${PRESS}/setpoint`,
      from,
      (p) => (JSON.parse(p) as { value: unknown }).value === 900,
    );
    expect(JSON.parse(readBack.payload)).toMatchObject({ value: 900, unit: 'K' });
    expect(sim.stats.connections).toBe(connections);
    expect(gateway.loaded.mappings[0]!.tags[1]!.max).toBe(1000);
  });
});
