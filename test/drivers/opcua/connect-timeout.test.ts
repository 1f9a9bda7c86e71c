// A connect attempt that times out must not come back later as a second session: the server sits
// behind a relay that delays every byte of the first connections, so the first attempt times out
// in the middle of its handshake and finishes later in the background. The server must end with
// exactly one session and one subscription, and no value may arrive twice.
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import { sleep, waitFor } from '../../helpers/net.js';
import { makeDriver, recorder, simPkiDir, startSim, tag, tempDir } from './harness.js';

const dataDir = tempDir('tagwire-opcua-connect-timeout-');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A TCP relay to `port` that delays each chunk by `delayMs` on connections opened while `slow()`. */
async function slowRelay(port: number, delayMs: number, slow: () => boolean): Promise<number> {
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(port, '127.0.0.1');
    const delay = slow() ? delayMs : 0;
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (delay === 0) to.write(chunk);
        else setTimeout(() => to.writable && to.write(chunk), delay);
      });
    forward(inbound, outbound);
    forward(outbound, inbound);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    // A close travels behind the data still held.
    inbound.on('close', () => setTimeout(() => outbound.destroy(), delay));
    outbound.on('close', () => setTimeout(() => inbound.destroy(), delay));
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        relay.close(() => resolve());
      }),
  );
  return (relay.address() as net.AddressInfo).port;
}

describe('OPC UA connect timeout', { timeout: 120_000 }, () => {
  it('closes a timed-out attempt that completes late: one session, no duplicate samples', async () => {
    const sim: RunningOpcuaSimulator = await startSim({ pkiDir: simPkiDir('connect-timeout') });
    cleanups.push(() => sim.close());
    const started = Date.now();
    const slowForMs = 2500;
    const relayPort = await slowRelay(sim.port, 400, () => Date.now() - started < slowForMs);

    const rec = recorder();
    const driver = makeDriver(
      {
        id: 'late',
        endpointUrl: `opc.tcp://127.0.0.1:${relayPort}`,
        // Long enough for a handshake on a loaded machine, far too short for one at 800 ms a round trip.
        connectTimeoutMs: 2000,
        requestTimeoutMs: 10_000,
        reconnectInitialDelayMs: 100,
        reconnectMaxDelayMs: 500,
      },
      [tag('temperature', 'ns=2;s=Oven.Temperature', { pollMs: 100 })],
      dataDir,
      rec,
    );
    cleanups.push(() => driver.stop());
    await driver.start();

    // The first attempt timed out...
    await waitFor(
      () => rec.statuses.find((s) => s.lastError?.includes('timed out')),
      60_000,
      'a connect timeout',
    );
    // ...and a later one connected.
    await waitFor(() => driver.status().state === 'connected', 60_000, 'connected');
    // The late attempt finishes within a few of its slow round trips; give it time to do harm.
    await sleep(slowForMs + 8 * 400);
    await waitFor(
      () => sim.openSessions().sessions === 1 && sim.openSessions().subscriptions === 1,
      30_000,
      'exactly one session and one subscription on the server',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(sim.openSessions())}`);
    });
    expect(driver.status().counters?.sessions).toBe(1);

    // Fresh values flow, each once.
    const from = rec.samples.length;
    await waitFor(
      () =>
        rec.samples.slice(from).filter((s) => s.tag === 'temperature' && s.quality === 'good').length >= 10,
      30_000,
      'ten fresh temperatures',
    );
    const good = rec.samples.filter((s) => s.tag === 'temperature' && s.quality === 'good');
    const keys = good.map((s) => `${s.ts}/${String(s.value)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sim.openSessions().sessions).toBe(1);

    await driver.stop();
    await waitFor(() => sim.openSessions().sessions === 0, 30_000, 'the session closed on stop');
  });
});
