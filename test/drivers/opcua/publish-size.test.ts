// Publish responses stay small: with more changed items than notificationsPerPublish(), the server
// splits each round into several responses (so the decoded values die young), and every value arrives.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpcuaDriver } from '../../../drivers/opcua/driver.js';
import type { RunningOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import { notificationsPerPublish } from '../../../drivers/opcua/subscription.js';
import { waitFor } from '../../helpers/net.js';
import { makeDriver, recorder, simPkiDir, startSim, tag, tempDir } from './harness.js';

const POINTS = 5000;
let sim: RunningOpcuaSimulator;
let driver: OpcuaDriver | undefined;
const dataDir = tempDir('tagwire-opcua-publish-size-');

beforeAll(async () => {
  sim = await startSim({ pkiDir: simPkiDir('publish-size'), loadPoints: { count: POINTS, intervalMs: 500 } });
}, 90_000);

afterAll(async () => {
  await driver?.stop();
  await sim?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('publish response size', { timeout: 120_000 }, () => {
  it(`splits a round of ${POINTS} changes into responses of at most ${notificationsPerPublish(POINTS)}`, async () => {
    const rec = recorder();
    const tags = Array.from({ length: POINTS }, (_, i) =>
      tag(`p${i}`, `ns=2;s=Load.${i}`, { type: 'Double', pollMs: 500, samplingIntervalMs: 0 }),
    );
    driver = makeDriver(
      { id: 'big', endpointUrl: sim.endpointUrl, publishingIntervalMs: 500 },
      tags,
      dataDir,
      rec,
    );
    await driver.start();
    const counters = () => driver!.status().counters as Record<string, number>;
    await waitFor(() => new Set(rec.samples.map((s) => s.tag)).size === POINTS, 90_000, 'every item once');
    const before = { ...counters() };
    const from = rec.samples.length;
    await waitFor(
      () => counters().notifications! >= before.notifications! + 3 * POINTS,
      60_000,
      'three rounds',
    );
    const after = counters();
    const values = after.notifications! - before.notifications!;
    const responses = after.publishResponses! - before.publishResponses!;
    expect(responses).toBeGreaterThanOrEqual(Math.ceil(values / notificationsPerPublish(POINTS)));
    // Every item kept changing: the split loses nothing.
    const changed = new Set(rec.samples.slice(from).map((s) => s.tag));
    expect(changed.size).toBe(POINTS);
    expect(rec.samples.slice(from).every((s) => s.quality === 'good')).toBe(true);
  });
});
