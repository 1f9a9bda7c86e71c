// Batching within limits: monitored items created in calls of at most maxNodesPerCall, polled tags
// read in batches of the same size; and a deprecated security policy accepted only with a warning.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpcuaDriver } from '../../../drivers/opcua/driver.js';
import type { RunningOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import type { DriverLogger } from '../../../drivers/types.js';
import { freePort, waitFor } from '../../helpers/net.js';
import { makeDriver, recorder, simPkiDir, startSim, tag, tempDir } from './harness.js';

let sim: RunningOpcuaSimulator;
const dataDir = tempDir('tagwire-opcua-batches-');
const drivers: OpcuaDriver[] = [];

beforeAll(async () => {
  sim = await startSim({ pkiDir: simPkiDir('batches'), loadPoints: { count: 25, intervalMs: 200 } });
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(drivers.map((d) => d.stop()));
  await sim?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const points = (mode: 'subscribe' | 'poll') =>
  Array.from({ length: 25 }, (_, i) => tag(`p${i}`, `ns=2;s=Load.${i}`, { mode, pollMs: 200 }));

/** A driver subscribed to the 25 load points, once each has reported a good value. */
async function subscribedToAll(device: { id: string; endpointUrl: string; maxNodesPerCall?: number }) {
  const rec = recorder();
  const driver = makeDriver(device, points('subscribe'), dataDir, rec);
  drivers.push(driver);
  await driver.start();
  await waitFor(
    () => new Set(rec.samples.filter((s) => s.quality === 'good').map((s) => s.tag)).size === 25,
    30_000,
    `all 25 points of ${device.id}`,
  );
  return { driver, rec };
}

describe('batches within limits', { timeout: 90_000 }, () => {
  it('creates monitored items in calls of at most maxNodesPerCall', async () => {
    const { driver } = await subscribedToAll({
      id: 'sub',
      endpointUrl: sim.endpointUrl,
      maxNodesPerCall: 10,
    });
    expect(driver.status().counters?.monitorCalls).toBe(3);
  });

  it('polls in Read batches of at most maxNodesPerCall', async () => {
    const rec = recorder();
    const driver = makeDriver(
      { id: 'poll', endpointUrl: sim.endpointUrl, maxNodesPerCall: 10 },
      points('poll'),
      dataDir,
      rec,
    );
    drivers.push(driver);
    await driver.start();
    await waitFor(() => driver.status().state === 'connected', 30_000, 'connected');
    const before = driver.status().requests;
    const seen = rec.samples.length;
    await waitFor(() => rec.samples.length >= seen + 25 * 3, 30_000, 'three more polls');
    const polls = Math.floor((rec.samples.length - seen) / 25);
    // Each poll of 25 tags is 3 Read calls (10 + 10 + 5); allow the cycle in flight either way.
    const requests = driver.status().requests - before;
    expect(requests).toBeGreaterThanOrEqual(polls * 3 - 3);
    expect(requests).toBeLessThanOrEqual(polls * 3 + 3);
    expect(rec.samples.slice(seen).every((s) => s.quality === 'good')).toBe(true);
  });

  it('splits items over several subscriptions when the server limits items per subscription', async () => {
    const limited = await startSim({
      pkiDir: simPkiDir('batches'),
      loadPoints: { count: 25, intervalMs: 200 },
      maxMonitoredItemsPerSubscription: 10,
    });
    try {
      const { driver, rec } = await subscribedToAll({ id: 'split', endpointUrl: limited.endpointUrl });
      expect(driver.status().counters?.monitorCalls).toBe(3);
      expect(rec.samples.some((s) => s.quality === 'bad')).toBe(false);
      await driver.stop();
    } finally {
      await limited.close();
    }
  });

  it('accepts a deprecated security policy only with a warning', async () => {
    const warnings: string[] = [];
    const rec = recorder();
    const log: DriverLogger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (obj, msg) => void warnings.push(`${typeof obj === 'string' ? obj : (msg ?? '')}`),
      child: () => log,
    };
    rec.log = log;
    const port = await freePort();
    const driver = makeDriver(
      {
        id: 'legacy',
        endpointUrl: `opc.tcp://127.0.0.1:${port}`,
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256',
      },
      [tag('x', 'ns=2;s=Oven.Temperature')],
      dataDir,
      rec,
    );
    drivers.push(driver);
    await driver.start();
    expect(warnings.some((w) => /deprecated OPC UA security policy/.test(w))).toBe(true);
    await driver.stop();
  });
});
