// Staying connected: a server killed (SIGKILL) and started again on the same port, a connection cut
// under a live session, and a subscription the server dropped silently. Values must flow again each
// time without restarting the driver.
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { OpcuaDriver } from '../../../drivers/opcua/driver.js';
import type { RunningOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import { freePort, waitFor } from '../../helpers/net.js';
import { tcpRelay } from '../../helpers/relay.js';
import { killChild, startSimChild, type SimChild } from './child.js';
import { makeDriver, recorder, simPkiDir, startSim, tag, tempDir, type Recorder } from './harness.js';

const dataDir = tempDir('tagwire-opcua-reconnect-');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const fast = {
  reconnectInitialDelayMs: 200,
  reconnectMaxDelayMs: 2000,
  connectTimeoutMs: 10_000,
  requestTimeoutMs: 3000,
};

function goodAfter(rec: Recorder, name: string, t: number) {
  return () => rec.samples.find((s) => s.tag === name && s.quality === 'good' && s.ts > t);
}

describe('OPC UA recovery', { timeout: 180_000 }, () => {
  it('gets values again after the server is killed and restarted', async () => {
    const port = await freePort();
    const pkiDir = simPkiDir('child');
    let child: SimChild = await startSimChild(port, pkiDir);
    cleanups.push(() => killChild(child));
    const rec = recorder();
    const driver: OpcuaDriver = makeDriver(
      { id: 'oven', endpointUrl: child.endpointUrl, ...fast },
      [
        tag('temperature', 'ns=2;s=Oven.Temperature', { pollMs: 100 }),
        tag('state', 'ns=2;s=Oven.State', { mode: 'poll', pollMs: 200 }),
      ],
      dataDir,
      rec,
    );
    cleanups.push(() => driver.stop());
    await driver.start();
    await waitFor(goodAfter(rec, 'temperature', 0), 30_000, 'first values');

    await killChild(child);
    const down = await waitFor(
      () =>
        rec.samples.find(
          (s) => s.tag === 'temperature' && s.quality === 'bad' && s.reason === 'disconnected',
        ),
      30_000,
      'temperature bad/disconnected',
    );
    expect(down.value).toBeNull();
    await waitFor(() => driver.status().state !== 'connected', 30_000, 'state leaves connected');

    child = await startSimChild(port, pkiDir);
    const restarted = Date.now();
    await waitFor(goodAfter(rec, 'temperature', restarted), 90_000, 'temperature good after the restart');
    await waitFor(goodAfter(rec, 'state', restarted), 30_000, 'polled state good after the restart');
    expect(driver.status().state).toBe('connected');
  });

  it('repairs a cut connection under a live session and publishes fresh values', async () => {
    const sim: RunningOpcuaSimulator = await startSim({ pkiDir: simPkiDir('reconnect') });
    cleanups.push(() => sim.close());
    // A TCP relay we can cut: the server stays up, only the connection breaks.
    const relay = await tcpRelay(sim.port);
    cleanups.push(() => relay.close());
    const relayPort = relay.port;

    const rec = recorder();
    const driver = makeDriver(
      { id: 'blip', endpointUrl: `opc.tcp://127.0.0.1:${relayPort}`, ...fast },
      [
        tag('setpoint', 'ns=2;s=Oven.Setpoint'),
        tag('temperature', 'ns=2;s=Oven.Temperature', { pollMs: 100 }),
      ],
      dataDir,
      rec,
    );
    cleanups.push(() => driver.stop());
    await driver.start();
    await waitFor(goodAfter(rec, 'setpoint', 0), 30_000, 'first setpoint');

    relay.drop();
    await waitFor(
      () =>
        rec.samples.find((s) => s.tag === 'setpoint' && s.quality === 'bad' && s.reason === 'disconnected'),
      30_000,
      'setpoint bad/disconnected',
    );
    const cut = Date.now();
    const downAt = rec.samples.findIndex(
      (s) => s.tag === 'setpoint' && s.quality === 'bad' && s.reason === 'disconnected',
    );
    // The setpoint never changes: only the refresh on recovery can bring it back as good.
    const back = await waitFor(
      () => rec.samples.slice(downAt).find((s) => s.tag === 'setpoint' && s.quality === 'good'),
      60_000,
      'setpoint good again',
    );
    expect(back.value).toBe(180);
    await waitFor(goodAfter(rec, 'temperature', cut), 30_000, 'temperature flows again');
    await waitFor(() => driver.status().state === 'connected', 30_000, 'connected').catch((err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(rec.statuses.map((x) => [x.state, x.lastError, x.since - cut]))}`,
      );
    });
  });

  it('rebuilds a subscription the server dropped silently (watchdog)', async () => {
    const sim: RunningOpcuaSimulator = await startSim({ pkiDir: simPkiDir('watchdog') });
    cleanups.push(() => sim.close());
    const rec = recorder();
    const driver = makeDriver(
      {
        id: 'wd',
        endpointUrl: sim.endpointUrl,
        ...fast,
        publishingIntervalMs: 100,
        keepAliveCount: 3,
        watchdogFactor: 2,
      },
      [tag('temperature', 'ns=2;s=Oven.Temperature', { pollMs: 100 })],
      dataDir,
      rec,
    );
    cleanups.push(() => driver.stop());
    await driver.start();
    await waitFor(goodAfter(rec, 'temperature', 0), 30_000, 'first values');
    expect(sim.dropSubscriptions()).toBeGreaterThan(0);
    const dropped = Date.now();
    await waitFor(() => (driver.status().counters?.rebuilds ?? 0) > 0, 60_000, 'a rebuild');
    await waitFor(goodAfter(rec, 'temperature', dropped + 100), 30_000, 'values after the rebuild');
  });
});
