// RTU: through a socat pseudo-terminal pair against an independent slave (libmodbus) and our
// simulator's RTU mode; RTU over TCP through a socat converter; two units on one bus, one dead.
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modbusDeviceConfig, modbusSimulatorConfig } from '../../../drivers/modbus/config.js';
import { modbusDriver } from '../../../drivers/modbus/index.js';
import { startModbusSimulator } from '../../../drivers/modbus/simulator/index.js';
import type { Driver, TagConfig } from '../../../drivers/types.js';
import { silentLogger } from '../../../src/log.js';
import { freePort, waitFor } from '../../helpers/net.js';
import { recorder, tag } from './helpers.js';
import { libmodbusSlave, ptyBehindTcp, ptyPair, tempDir, type Peer, type Values } from './serial.js';
import { registerMap, typeCases } from './typecases.js';

const cases = typeCases(1000);
const values: Values = [
  ...Object.entries(registerMap(cases)).map(([address, value]) => ({
    table: 'hr' as const,
    address: Number(address),
    value,
  })),
  { table: 'hr', address: 200, value: 7 },
  { table: 'ir', address: 0, value: 4321 },
  { table: 'coil', address: 0, value: 1 },
  { table: 'di', address: 2, value: 1 },
];

let dir: string;
const cleanups: (() => Promise<void>)[] = [];
const track = <T extends Peer | { close(): Promise<void> }>(peer: T): T => {
  cleanups.push(() => ('stop' in peer ? peer.stop() : peer.close()));
  return peer;
};

async function rtuDriver(
  transport: Record<string, unknown>,
  tags: TagConfig[],
  extra: Record<string, unknown> = {},
) {
  const ctx = recorder();
  const device = modbusDeviceConfig({
    id: `u${String(extra.unitId ?? 1)}`,
    transport,
    timeoutMs: 500,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    ...extra,
  });
  const driver: Driver = modbusDriver.create(device, tags, ctx);
  cleanups.unshift(() => driver.stop());
  await driver.start();
  await waitFor(() => driver.status().state === 'connected', 15_000, 'rtu connected');
  return { driver, ctx };
}

beforeAll(() => {
  dir = tempDir();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('modbus RTU', () => {
  it('reads every type and byte order from a libmodbus RTU slave over a pty pair, and writes', async () => {
    const pair = track(await ptyPair(dir));
    track(await libmodbusSlave(dir, pair.b, 1, values));
    const tags = [
      ...cases.map((c) => c.tag),
      tag('sp', 'hr:200', 'int16', { writable: true }),
      tag('ir', 'ir:0', 'uint16'),
      tag('run', 'coil:0', 'bool', { writable: true }),
      tag('di', 'di:2', 'bool'),
    ];
    const { driver } = await rtuDriver({ type: 'rtu', path: pair.a, baudRate: 19200, parity: 'none' }, tags);
    const samples = await driver.read(tags.map((t) => t.name));
    for (const c of cases)
      expect(
        samples.find((s) => s.tag === c.tag.name),
        c.tag.name,
      ).toMatchObject({ quality: 'good', value: c.expected });
    expect(samples.find((s) => s.tag === 'ir')).toMatchObject({ value: 4321 });
    expect(samples.find((s) => s.tag === 'di')).toMatchObject({ value: true });
    expect(await driver.write('sp', -321)).toMatchObject({ ok: true, sample: { value: -321 } });
    expect(await driver.write('run', false)).toMatchObject({ ok: true, sample: { value: false } });
  });

  it('keeps a live unit polling while a dead unit on the same bus is moved to slow retry', async () => {
    // Our simulator, not libmodbus, plays the bus here: a libmodbus slave that sees a request for
    // another unit waits for that unit's reply and misreads the next request as it, so on a bus
    // with a dead unit it would drop requests meant for itself.
    const pair = track(await ptyPair(dir));
    track(
      await startModbusSimulator(
        modbusSimulatorConfig({ mode: 'rtu', path: pair.b, unitIds: [1] }),
        silentLogger(),
      ),
    );
    const transport = { type: 'rtu', path: pair.a, baudRate: 19200 };
    const slowRetryMs = 4000;
    const live = await rtuDriver(transport, [tag('sp', 'hr:200', 'int16', { pollMs: 100 })], {
      unitId: 1,
      // Generous: a timeout here would only mean the loaded test machine was slow.
      timeoutMs: 2000,
    });
    const dead = await rtuDriver(transport, [tag('sp', 'hr:200', 'int16', { pollMs: 100 })], {
      unitId: 2,
      timeoutMs: 150,
      retries: 0,
      deadAfterTimeouts: 2,
      slowRetryMs,
    });
    await waitFor(() => dead.driver.status().counters?.slowRetry === 1, 15_000, 'dead unit on slow retry');
    expect(dead.ctx.latest('sp')).toMatchObject({ quality: 'bad', reason: 'timeout' });
    const deadRequests = dead.driver.status().requests;
    const liveSamples = live.ctx.all('sp').length;
    const watchedFrom = performance.now();
    // The live unit keeps polling with good values (ten polls: a second or more)...
    await waitFor(() => live.ctx.all('sp').length - liveSamples > 10, 20_000, 'the live unit polling');
    // ...while the dead unit sends one probe per slow-retry period at most (a slow machine only
    // makes the window longer, and allows as many more probes as whole periods fit in it).
    const periods = Math.floor((performance.now() - watchedFrom) / slowRetryMs);
    expect(dead.driver.status().requests - deadRequests).toBeLessThanOrEqual(1 + periods);
    expect(live.ctx.latest('sp')).toMatchObject({ quality: 'good', value: 200 });
    expect(live.driver.status().timeouts).toBe(0);
  });

  it("polls our simulator's RTU mode, counts CRC errors and stays in step", async () => {
    const pair = track(await ptyPair(dir));
    track(
      await startModbusSimulator(
        modbusSimulatorConfig({ mode: 'rtu', path: pair.b, periodMs: 50, faults: { garbageEvery: 5 } }),
        silentLogger(),
      ),
    );
    const { driver, ctx } = await rtuDriver(
      { type: 'rtu', path: pair.a, baudRate: 38400 },
      [
        tag('sp', 'hr:200', 'int16', { pollMs: 50, writable: true }),
        tag('t', 'hr:100', 'float32', { pollMs: 50 }),
      ],
      { timeoutMs: 200, retries: 2, retryDelayMs: 10 },
    );
    await waitFor(() => (driver.status().counters?.crcErrors ?? 0) >= 3, 15_000, 'CRC errors counted');
    expect(await driver.write('sp', 250)).toMatchObject({ ok: true, sample: { value: 250 } });
    await waitFor(() => ctx.latest('sp')?.value === 250, 10_000, 'polled 250');
    const good = ctx.all('t').filter((s) => s.quality === 'good');
    expect(good.length).toBeGreaterThan(3);
    expect(good.every((s) => (s.value as number) > 100 && (s.value as number) < 300)).toBe(true);
  });

  it('reports a serial port that cannot be opened, marks its tags disconnected once, and keeps retrying', async () => {
    const ctx = recorder();
    const device = modbusDeviceConfig({
      id: 'nowhere',
      transport: { type: 'rtu', path: `${dir}/no-such-tty` },
      reconnectMinMs: 50,
      reconnectMaxMs: 100,
    });
    const driver = modbusDriver.create(device, [tag('x', 'hr:0', 'uint16')], ctx);
    cleanups.unshift(() => driver.stop());
    await driver.start();
    await waitFor(() => (driver.status().counters?.reconnects ?? 0) >= 3, 10_000, 'reconnect attempts');
    // Between attempts it is `disconnected` (briefly `connecting` during one), with the error.
    const status = await waitFor(
      () => (driver.status().state === 'disconnected' ? driver.status() : undefined),
      10_000,
      'state',
    );
    expect(status.lastError).toContain('no-such-tty');
    expect(ctx.all('x')).toEqual([expect.objectContaining({ quality: 'bad', reason: 'disconnected' })]);
  });

  it('speaks RTU over TCP to our simulator and to libmodbus behind a socat converter', async () => {
    const sim = track(
      await startModbusSimulator(modbusSimulatorConfig({ mode: 'rtu-over-tcp', port: 0 }), silentLogger()),
    );
    const viaSim = await rtuDriver({ type: 'rtu-over-tcp', host: '127.0.0.1', port: sim.port }, [
      tag('sp', 'hr:200', 'int16', { writable: true }),
    ]);
    expect((await viaSim.driver.read(['sp']))[0]).toMatchObject({ quality: 'good', value: 200 });
    expect(await viaSim.driver.write('sp', 42)).toMatchObject({ ok: true, sample: { value: 42 } });

    const port = await freePort();
    const converter = track(await ptyBehindTcp(dir, port));
    track(await libmodbusSlave(dir, converter.pty, 1, values));
    const viaConverter = await rtuDriver(
      { type: 'rtu-over-tcp', host: '127.0.0.1', port },
      cases.slice(0, 12).map((c) => c.tag),
    );
    const samples = await viaConverter.driver.read(cases.slice(0, 12).map((c) => c.tag.name));
    for (const c of cases.slice(0, 12))
      expect(
        samples.find((s) => s.tag === c.tag.name),
        c.tag.name,
      ).toMatchObject({ value: c.expected });
  });
});
