// Commands from the plant: a client on the upstream Mosquitto publishes a command, the bridge's
// `in` rule brings it into the gateway, the real command router writes the simulated Modbus device,
// and the result goes back up through the bridge (result topic and MQTT 5 response topic).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../src/bridge/config.js';
import { BridgeManager } from '../../src/bridge/manager.js';
import { silentLogger } from '../../src/log.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { waitForInRule } from './helpers/local.js';
import { connect, startStack, type Client, type Stack } from '../mapping/stack.js';

const PRESS = 'acme/plant1/line1/press1';
const REMOTE = 'sites/edge-test/';

describe('commands through the bridge', () => {
  let upstream: MosquittoBroker;
  let stack: Stack;
  let manager: BridgeManager;
  let plant: Client;

  beforeAll(async () => {
    upstream = await startMosquitto();
    stack = await startStack({
      mappings: {
        'press1.json': {
          device: 'press1',
          topic: PRESS,
          defaults: { pollMs: 200, qos: 1, retain: true },
          tags: [
            { name: 'temperature', address: 'hr:100', type: 'float32', unit: 'degC' },
            { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, min: 0, max: 500 },
          ],
        },
      },
    });
    manager = new BridgeManager({
      bridges: [
        parseBridgeConfig({
          name: 'plant',
          url: `mqtt://127.0.0.1:${upstream.port}`,
          protocolVersion: 5,
          in: [{ filter: `${REMOTE}#`, stripPrefix: REMOTE }],
          out: [
            { filter: 'acme/#', prefix: REMOTE },
            { filter: 'replies/#', prefix: REMOTE },
          ],
        }),
      ],
      gatewayId: 'edge-test',
      broker: stack.broker,
      log: silentLogger(),
      dataDir: stack.ws.dir,
    });
    await manager.start();
    await waitFor(() => manager.status()[0]!.connected, 10_000, 'the bridge to connect');
    await waitForInRule(upstream.port, stack.broker, `${REMOTE}probe/ready`, 'probe/ready');
    plant = await connect(upstream.port, { protocolVersion: 5 });
    await plant.mqtt.subscribeAsync(`${REMOTE}#`, { qos: 1 });
  });

  afterAll(async () => {
    await plant?.close();
    await manager?.stop();
    await stack?.stop();
    await upstream?.stop();
  });

  const setpointRegister = (): number => stack.sims[0]!.units.units.get(1)!.memory.getRegister('hr', 200);

  it('forwards tag values from the device upstream', async () => {
    const value = await plant.next(`${REMOTE}${PRESS}/temperature`);
    expect(JSON.parse(value.payload)).toMatchObject({ quality: 'good', unit: 'degC' });
  });

  it('writes the device on a command from the plant and sends the result back', async () => {
    const from = plant.messages.length;
    await plant.mqtt.publishAsync(
      `${REMOTE}${PRESS}/setpoint/set`,
      JSON.stringify({ value: 123, requestId: 'r1' }),
      {
        qos: 1,
      },
    );
    const result = await plant.next(`${REMOTE}${PRESS}/setpoint/set/result`, from);
    expect(JSON.parse(result.payload)).toMatchObject({ ok: true, value: 123, requestId: 'r1' });
    expect(setpointRegister()).toBe(123);
  });

  it('refuses an out-of-range command from the plant, and answers on its MQTT 5 response topic', async () => {
    const from = plant.messages.length;
    await plant.mqtt.publishAsync(`${REMOTE}${PRESS}/setpoint/set`, '900', {
      qos: 1,
      properties: { responseTopic: `${REMOTE}replies/op7`, correlationData: Buffer.from('corr-7') },
    });
    const reply = await plant.next(`${REMOTE}replies/op7`, from);
    expect(JSON.parse(reply.payload)).toMatchObject({ ok: false });
    expect(JSON.parse(reply.payload).error).toMatch(/900/);
    expect(Buffer.from(reply.properties!.correlationData as Buffer).toString()).toBe('corr-7');
    expect(setpointRegister()).toBe(123);
  });
});
