// Faults against our simulator's fault injection: late replies after a timeout, garbage on the
// wire, several requests in flight, writes overtaking queued polls, and scans that overrun.
import { describe, expect, it } from 'vitest';
import { modbusSimulatorConfig, type ModbusSimulatorConfig } from '../../../drivers/modbus/config.js';
import { startModbusSimulator } from '../../../drivers/modbus/simulator/index.js';
import type { TagConfig } from '../../../drivers/types.js';
import { silentLogger } from '../../../src/log.js';
import { waitFor } from '../../helpers/net.js';
import { modbusLab, tag } from './helpers.js';

const lab = modbusLab();
const driver = lab.driver;

/** A simulator whose registers hr:0..n-1 hold the constant 3 * address; its config stays live for fault changes. */
async function constants(n: number, faults: Partial<ModbusSimulatorConfig['faults']> = {}) {
  const config = modbusSimulatorConfig({
    port: 0,
    profile: 'none',
    faults,
    signals: Array.from({ length: n }, (_, i) => ({
      address: `hr:${i}`,
      kind: 'constant',
      type: 'uint16',
      value: 3 * i,
    })),
  });
  const sim = lab.track(await startModbusSimulator(config, silentLogger()));
  return { sim, config };
}

/** Tags on every `stride`th register, each read by its own request (no gaps allowed). */
function spread(n: number, stride: number, pollMs: number): TagConfig[] {
  return Array.from({ length: n }, (_, i) => tag(`r${i * stride}`, `hr:${i * stride}`, 'uint16', { pollMs }));
}

describe('modbus faults', () => {
  it('never lets a reply that comes after its timeout land on a later request', async () => {
    const { sim, config } = await constants(20, { delayMs: 120 });
    const tags = spread(2, 10, 100);
    const { d, ctx } = await driver(sim.port, tags, {
      timeoutMs: 100,
      retries: 0,
      deadAfterTimeouts: 1000,
      limits: { maxGapRegisters: 0 },
    });
    await waitFor(() => (d.status().counters?.lateReplies ?? 0) >= 3, 15_000, 'late replies');
    config.faults.delayMs = 0;
    await waitFor(
      () => ctx.latest('r0')?.quality === 'good' && ctx.latest('r10')?.quality === 'good',
      10_000,
      'good again',
    );
    // hr:0 holds 0 and hr:10 holds 30: a late reply put on the wrong request would swap them.
    for (const s of ctx.all('r0')) if (s.quality === 'good') expect(s.value).toBe(0);
    for (const s of ctx.all('r10')) if (s.quality === 'good') expect(s.value).toBe(30);
    expect(ctx.all('r0').some((s) => s.quality === 'bad' && s.reason === 'timeout')).toBe(true);
  });

  it('counts garbage on the wire and recovers without losing step', async () => {
    const { sim, config } = await constants(10, { garbageEvery: 3 });
    const { d, ctx } = await driver(sim.port, spread(5, 2, 50), {
      timeoutMs: 150,
      retries: 1,
      retryDelayMs: 10,
      deadAfterTimeouts: 1000,
    });
    await waitFor(() => (d.status().counters?.garbage ?? 0) >= 3, 15_000, 'garbage counted');
    config.faults.garbageEvery = 0;
    const count = ctx.batches.length;
    await waitFor(() => ctx.batches.length > count + 3, 10_000, 'more scans');
    const last = ctx.batches.at(-1)!;
    expect(last.every((s) => s.quality === 'good' && s.value === 3 * Number(s.tag.slice(1)))).toBe(true);
  });

  it('keeps several requests in flight when allowed, each reply on its own request', async () => {
    const { sim } = await constants(100, { delayMs: 20 });
    const tags = spread(25, 4, 10_000);
    const { d } = await driver(sim.port, tags, {
      transport: { type: 'tcp', host: '127.0.0.1', port: sim.port, maxInFlight: 4 },
      limits: { maxGapRegisters: 0 },
    });
    const samples = await d.read(tags.map((t) => t.name));
    expect(samples).toHaveLength(25);
    for (const s of samples) expect(s).toMatchObject({ quality: 'good', value: 3 * Number(s.tag.slice(1)) });
    expect(d.status().counters?.peakInFlight).toBe(4);
  });

  it('sends writes ahead of the polls already queued', async () => {
    const { sim } = await constants(200, { delayMs: 15 });
    const tags = [
      ...spread(40, 4, 60_000),
      tag('target', 'hr:199', 'uint16', { pollMs: 60_000, writable: true }),
    ];
    const { d, ctx } = await driver(sim.port, tags, { limits: { maxGapRegisters: 0 } });
    await waitFor(() => d.status().requests >= 1, 10_000, 'scan started');
    const result = await d.write('target', 4242);
    expect(result).toMatchObject({ ok: true, sample: { value: 4242 } });
    // The scan queued 41 reads before the write; the write and its read-back went first.
    expect(ctx.batches).toHaveLength(0);
    await waitFor(() => ctx.batches.length === 1, 20_000, 'the scan completes');
  });

  it('shares one TCP connection between the units behind it; a silent unit does not stall the other', async () => {
    const config = modbusSimulatorConfig({ port: 0, unitIds: [1, 2], faults: { silentUnits: [2] } });
    const sim = lab.track(await startModbusSimulator(config, silentLogger()));
    const live = await driver(sim.port, [tag('sp', 'hr:200', 'int16', { pollMs: 100 })], {
      unitId: 1,
      // Generous: a timeout here would only mean the loaded test machine was slow.
      timeoutMs: 2000,
    });
    const dead = await driver(sim.port, [tag('sp', 'hr:200', 'int16', { pollMs: 100 })], {
      unitId: 2,
      timeoutMs: 150,
      retries: 0,
      deadAfterTimeouts: 2,
      slowRetryMs: 60_000,
    });
    await waitFor(() => dead.d.status().counters?.slowRetry === 1, 15_000, 'unit 2 on slow retry');
    const before = live.ctx.all('sp').length;
    await waitFor(() => live.ctx.all('sp').length > before + 5, 10_000, 'unit 1 keeps polling');
    expect(live.ctx.latest('sp')).toMatchObject({ quality: 'good', value: 200 });
    expect(live.d.status().timeouts).toBe(0);
    expect(sim.stats.connections).toBe(1);
    // Unit 2 answers again: back to the normal schedule on the next probe (forced here by a read).
    config.faults.silentUnits = [];
    expect((await dead.d.read(['sp']))[0]).toMatchObject({ quality: 'good', value: 200 });
    expect(dead.d.status().counters?.slowRetry).toBe(0);
  });

  it('counts a scan longer than its period as an overrun and never piles scans up', async () => {
    const { sim } = await constants(4, { delayMs: 150 });
    const { d, ctx } = await driver(sim.port, [tag('a', 'hr:0', 'uint16', { pollMs: 50 })], {
      timeoutMs: 2000,
    });
    await waitFor(() => (d.status().overruns ?? 0) > 3, 15_000, 'overruns');
    const status = d.status();
    // One request per scan, one scan at a time: requests never run ahead of completed scans.
    expect(status.requests).toBeLessThanOrEqual(ctx.batches.length + 1);
    expect(status.counters?.queued).toBeLessThanOrEqual(1);
  });
});
