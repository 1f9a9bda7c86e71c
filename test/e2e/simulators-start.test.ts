// The demo's start with simulators: the Modbus side never waits for the OPC UA simulator, and ready
// (the banner, /readyz 200) still means every simulator listens and every driver started. The OPC
// UA simulator is held back here by a gate, so the order is decided by the test, not by timing.
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { SimulatorGroup } from '../../src/simulator-group.js';
import { startSimulators } from '../../src/simulators.js';
import { demoConfig } from '../helpers/demo-config.js';
import { sleep, waitFor } from '../helpers/net.js';

const LINE = 'acme/plant1/line1';

async function connectWhenOpen(port: number, deadline: number): Promise<MqttClient> {
  for (;;) {
    try {
      return await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        reconnectPeriod: 0,
        connectTimeout: 2000,
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(10);
    }
  }
}

/** True when nothing accepts TCP on the port. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

describe('starting the demo', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('publishes Modbus values while the OPC UA simulator is still starting; ready waits for it', async () => {
    const demo = await demoConfig();
    const loaded = await loadConfig(demo.file);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const opcuaHeld: typeof startSimulators = async (config, log) => {
      if (config.opcua.length > 0) await gate;
      return startSimulators(config, log);
    };
    const simulators = SimulatorGroup.start(loaded.config.simulators, silentLogger(), opcuaHeld);
    const gateway = new Gateway(loaded, { log: silentLogger(), simulators });
    cleanup.push(() => gateway.stop());
    let ready = false;
    const starting = gateway.start().then(() => (ready = true));
    cleanup.push(() => {
      release();
      return starting.catch(() => undefined);
    });

    const client = await connectWhenOpen(demo.mqttPort, Date.now() + 60_000);
    cleanup.push(() => client.endAsync(true));
    const topics: string[] = [];
    client.on('message', (topic) => topics.push(topic));
    await client.subscribeAsync(`${LINE}/#`);
    await waitFor(() => topics.some((t) => t.startsWith(`${LINE}/press1/`)), 30_000, 'a press value');

    // Values flow, but the gateway is not ready: the OPC UA simulator does not listen yet.
    expect(ready).toBe(false);
    expect(gateway.readiness()).toEqual({
      ready: false,
      reason: 'starting: starting the drivers and simulators',
    });
    const notYet = await fetch(`http://127.0.0.1:${demo.httpPort}/readyz`);
    expect(notYet.status).toBe(503);
    expect(gateway.devices().find((d) => d.deviceId === 'oven1')?.state).not.toBe('connected');

    release();
    await starting;
    expect(gateway.readiness()).toEqual({ ready: true });
    expect((await fetch(`http://127.0.0.1:${demo.httpPort}/readyz`)).status).toBe(200);
    expect(gateway.simulatorAddresses()).toEqual([
      `modbus-tcp://127.0.0.1:${demo.modbusPort}`,
      `opc.tcp://127.0.0.1:${demo.opcuaPort}`,
    ]);
    await waitFor(() => topics.some((t) => t.startsWith(`${LINE}/oven1/`)), 60_000, 'an oven value');
  }, 120_000);

  it('a simulator that cannot start fails the start, and stops what had started', async () => {
    const demo = await demoConfig();
    const loaded = await loadConfig(demo.file);
    const failing: typeof startSimulators = async (config, log) => {
      if (config.opcua.length > 0)
        throw Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
      return startSimulators(config, log);
    };
    const simulators = SimulatorGroup.start(loaded.config.simulators, silentLogger(), failing);
    const gateway = new Gateway(loaded, { log: silentLogger(), simulators });
    await expect(gateway.start()).rejects.toThrow('EADDRINUSE');
    expect(gateway.readiness()).toEqual({ ready: false, reason: 'stopped' });
    // Everything that had started is closed again: the broker's and the Modbus simulator's ports are free.
    await expect(refused(demo.mqttPort)).resolves.toBe(true);
    await expect(refused(demo.modbusPort)).resolves.toBe(true);
  }, 60_000);
});
