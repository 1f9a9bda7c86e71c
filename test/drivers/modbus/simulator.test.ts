// Our simulator, driven by our driver and checked by an independent client (Debian's mbpoll):
// the press profile moves, scripted signals follow their shapes, writes land, unmapped addresses
// answer exception 2, and a restart is survived.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { modbusSimulatorConfig, modbusTagConfig } from '../../../drivers/modbus/config.js';
import { modbusDriver } from '../../../drivers/modbus/index.js';
import {
  startModbusSimulator,
  type RunningModbusSimulator,
} from '../../../drivers/modbus/simulator/index.js';
import { PRESS_LAYOUT } from '../../../drivers/modbus/simulator/press.js';
import type { TagConfig } from '../../../drivers/types.js';
import { silentLogger } from '../../../src/log.js';
import { freePort, sleep, waitFor } from '../../helpers/net.js';
import { modbusLab, tag, tcpDevice } from './helpers.js';
import { registerMap, typeCases } from './typecases.js';

const run = promisify(execFile);
const lab = modbusLab();
const driver = lab.driver;

async function sim(config: Record<string, unknown> = {}): Promise<RunningModbusSimulator> {
  const s = await startModbusSimulator(
    modbusSimulatorConfig({ port: 0, periodMs: 50, ...config }),
    silentLogger(),
  );
  return lab.track(s);
}

/** The demo mapping's tags, as the gateway hands them over (defaults applied). */
function pressTags(): TagConfig[] {
  const mapping = JSON.parse(
    fs.readFileSync(new URL('../../../mappings/press1.json', import.meta.url), 'utf8'),
  ) as {
    tags: { name: string; address: string; type: string; writable?: boolean }[];
  };
  return mapping.tags.map((t) => modbusTagConfig({ ...t, pollMs: 100, writable: t.writable ?? false }));
}

describe('modbus simulator', () => {
  it('serves the press the demo mapping reads, with values that move', async () => {
    const s = await sim();
    const tags = pressTags();
    for (const t of tags) expect(modbusDriver.checkTag(t, tcpDevice(s.port)), t.name).toEqual([]);
    const { ctx } = await driver(s.port, tags);
    await waitFor(
      () => tags.every((t) => ctx.latest(t.name)?.quality === 'good'),
      10_000,
      'all press tags good',
    );
    expect(ctx.latest('setpoint')?.value).toBe(200);
    expect(ctx.latest('running')?.value).toBe(true);
    expect(ctx.latest('doorClosed')?.value).toBe(true);
    const temperature = ctx.latest('temperature')?.value as number;
    expect(temperature).toBeGreaterThan(150);
    expect(temperature).toBeLessThan(250);
    const pressure = ctx.latest('pressure')?.value as number;
    expect(pressure).toBeGreaterThanOrEqual(60);
    expect(pressure).toBeLessThanOrEqual(140);
    // Moving values: the temperature wobbles and the cycle counter counts (one cycle per 2 s).
    await waitFor(() => (ctx.latest('cycles')?.value as number) >= 1, 10_000, 'a press cycle');
    await waitFor(
      () => new Set(ctx.all('temperature').map((x) => x.value)).size > 3,
      10_000,
      'temperature moving',
    );
  });

  it('accepts writes: a new setpoint, and a stopped press stops counting', async () => {
    const s = await sim();
    const { d, ctx } = await driver(s.port, pressTags());
    expect(await d.write('setpoint', 123)).toMatchObject({
      ok: true,
      sample: { quality: 'good', value: 123 },
    });
    await waitFor(() => ctx.latest('setpoint')?.value === 123, 10_000, 'polled setpoint 123');
    expect(await d.write('running', false)).toMatchObject({ ok: true, sample: { value: false } });
    const cycles = (await d.read(['cycles']))[0]?.value;
    // More than one press cycle (2 s) of the simulator's own time: a window of 2.5 s, then a
    // simulator tick after it (the stopped press cools on every tick), which counts the whole window.
    const temperature = (): number =>
      s.units.units.get(1)!.memory.hr.readFloatBE(PRESS_LAYOUT.temperature * 2);
    await sleep(2500);
    const cooled = temperature();
    await waitFor(() => temperature() !== cooled, 10_000, 'a simulator tick after the window');
    expect((await d.read(['cycles']))[0]?.value).toBe(cycles);
  });

  it('serves every type in every byte order that its memory holds', async () => {
    const s = await sim({ profile: 'none' });
    const cases = typeCases(1000);
    const memory = s.units.units.get(1)!.memory;
    for (const [address, word] of Object.entries(registerMap(cases))) {
      memory.define('hr', Number(address), 1);
      memory.hr.writeUInt16BE(word, Number(address) * 2);
    }
    const { d } = await driver(
      s.port,
      cases.map((c) => c.tag),
    );
    const samples = await d.read(cases.map((c) => c.tag.name));
    for (const c of cases)
      expect(
        samples.find((x) => x.tag === c.tag.name),
        c.tag.name,
      ).toMatchObject({ quality: 'good', value: c.expected });
  });

  it('writes every type in every byte order as the device expects the words', async () => {
    const s = await sim({ profile: 'none', unmapped: 'zero' });
    const cases = typeCases(1000).filter((c) => !c.tag.address.includes('.'));
    const { d } = await driver(
      s.port,
      cases.map((c) => ({ ...c.tag, writable: true })),
    );
    const memory = s.units.units.get(1)!.memory;
    for (const c of cases) {
      expect(await d.write(c.tag.name, c.expected), c.tag.name).toMatchObject({
        ok: true,
        sample: { value: c.expected },
      });
      const words = c.words.map((_, i) => memory.hr.readUInt16BE((c.address + i) * 2));
      expect(words, c.tag.name).toEqual(c.words);
    }
  });

  it('writes with 15/16 only when the device is set to refuse 5/6', async () => {
    const s = await sim({ faults: { refuseFunctions: [5, 6] } });
    const tags = [
      tag('sp', 'hr:200', 'int16', { writable: true }),
      tag('run', 'coil:0', 'bool', { writable: true }),
    ];
    const plain = await driver(s.port, tags);
    expect(await plain.d.write('sp', 99)).toEqual({
      ok: false,
      error: 'write to sp: modbus exception 1 (illegal function)',
    });
    expect(await plain.d.write('run', false)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/exception 1/),
    });
    await plain.d.stop();
    const forced = await driver(s.port, tags, { forceMultipleWrites: true });
    expect(await forced.d.write('sp', 99)).toMatchObject({ ok: true, sample: { value: 99 } });
    expect(await forced.d.write('run', false)).toMatchObject({ ok: true, sample: { value: false } });
  });

  it('answers exception 2 for unmapped addresses, or zeros when configured', async () => {
    const strict = await sim();
    const { ctx } = await driver(strict.port, [
      tag('gap', 'hr:103', 'uint16'),
      tag('far', 'hr:9000', 'uint16'),
    ]);
    await waitFor(() => ctx.latest('far'), 10_000, 'sample');
    expect(ctx.latest('far')).toMatchObject({
      quality: 'bad',
      reason: 'modbus exception 2 (illegal data address)',
    });
    expect(ctx.latest('gap')).toMatchObject({
      quality: 'bad',
      reason: 'modbus exception 2 (illegal data address)',
    });
    const lenient = await sim({ unmapped: 'zero' });
    const second = await driver(lenient.port, [tag('far', 'hr:9000', 'uint16')]);
    await waitFor(() => second.ctx.latest('far'), 10_000, 'sample');
    expect(second.ctx.latest('far')).toMatchObject({ quality: 'good', value: 0 });
  });

  it('splits a merged read the device refuses and keeps the good tags good', async () => {
    const s = await sim();
    // hr:103 is a hole in the press layout: the planner merges 100..105 across it, the simulator
    // refuses the read, and the driver falls back to reads without the gap.
    const { d, ctx } = await driver(s.port, [tag('t', 'hr:100', 'float32'), tag('c', 'hr:104', 'uint32')]);
    await waitFor(
      () => ctx.latest('t')?.quality === 'good' && ctx.latest('c')?.quality === 'good',
      10_000,
      'good after split',
    );
    expect(d.status().counters?.requestsPerScan).toBe(2);
  });

  it('plays scripted signals in their types and byte orders', async () => {
    const s = await sim({
      profile: 'none',
      periodMs: 20,
      signals: [
        { address: 'hr:0', kind: 'sine', type: 'float32', min: -10, max: 10, periodMs: 1000 },
        { address: 'hr:2', kind: 'ramp', type: 'uint16', min: 0, max: 1000, periodMs: 500 },
        { address: 'hr:3', kind: 'counter', type: 'uint32', byteOrder: 'CDAB', step: 5 },
        { address: 'hr:5', kind: 'randomWalk', type: 'int16', min: -50, max: 50, step: 5 },
        { address: 'hr:6', kind: 'constant', type: 'float64', value: 2.75, byteOrder: 'DCBA' },
        { address: 'ir:0', kind: 'constant', type: 'int32', value: -7, scale: 0.5 },
        { address: 'coil:3', kind: 'constant', type: 'bool', value: true },
      ],
    });
    const tags = [
      tag('sine', 'hr:0', 'float32'),
      tag('ramp', 'hr:2', 'uint16'),
      tag('counter', 'hr:3', 'uint32', { byteOrder: 'CDAB' }),
      tag('walk', 'hr:5', 'int16'),
      tag('constant', 'hr:6', 'float64', { byteOrder: 'DCBA' }),
      tag('scaled', 'ir:0', 'int32', { scale: 0.5 }),
      tag('flag', 'coil:3', 'bool'),
    ].map((t) => ({ ...t, pollMs: 50 }));
    const { ctx } = await driver(s.port, tags);
    await waitFor(() => ctx.all('counter').length > 10, 10_000, 'samples');
    const values = (name: string) => ctx.all(name).map((x) => x.value as number);
    expect(values('sine').every((v) => v >= -10 && v <= 10)).toBe(true);
    expect(new Set(values('sine')).size).toBeGreaterThan(3);
    expect(values('ramp').every((v) => v >= 0 && v <= 1000)).toBe(true);
    const counts = values('counter');
    expect(counts.every((v, i) => i === 0 || v >= (counts[i - 1] as number))).toBe(true);
    expect(counts.every((v) => v % 5 === 0)).toBe(true);
    expect(counts.at(-1)).toBeGreaterThan(counts[0] as number);
    expect(values('walk').every((v) => v >= -50 && v <= 50)).toBe(true);
    expect(ctx.latest('constant')?.value).toBe(2.75);
    expect(ctx.latest('scaled')?.value).toBe(-7);
    expect(ctx.latest('flag')?.value).toBe(true);
  });

  it('speaks Modbus TCP to an independent client (mbpoll)', async () => {
    const s = await sim();
    const read = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(s.port), '-a', '1', '-r', '201', '-c', '1', '-1', '127.0.0.1'],
      {
        timeout: 20_000,
      },
    );
    expect(read.stdout).toMatch(/\[201\]:\s+200/);
    await run('mbpoll', ['-m', 'tcp', '-p', String(s.port), '-a', '1', '-r', '201', '127.0.0.1', '321'], {
      timeout: 20_000,
    });
    const again = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(s.port), '-a', '1', '-r', '201', '-c', '1', '-1', '127.0.0.1'],
      {
        timeout: 20_000,
      },
    );
    expect(again.stdout).toMatch(/\[201\]:\s+321/);
    const coils = await run(
      'mbpoll',
      ['-m', 'tcp', '-p', String(s.port), '-a', '1', '-t', '0', '-r', '1', '-c', '1', '-1', '127.0.0.1'],
      {
        timeout: 20_000,
      },
    );
    expect(coils.stdout).toMatch(/\[1\]:\s+1/);
  });

  it('closes only the connection that sends something that is not Modbus TCP', async () => {
    const s = await sim();
    const { ctx } = await driver(s.port, [tag('sp', 'hr:200', 'int16')]);
    const net = await import('node:net');
    const rogue = net.connect({ host: '127.0.0.1', port: s.port });
    const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()));
    rogue.on('error', () => {});
    rogue.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    const count = ctx.all('sp').length;
    await waitFor(() => ctx.all('sp').length > count + 2, 10_000, 'polls go on');
    expect(ctx.latest('sp')).toMatchObject({ quality: 'good', value: 200 });
    expect(s.stats.malformed).toBe(1);
  });

  it('is reconnected to after a restart on the same port', async () => {
    const port = await freePort();
    const first = await sim({ port });
    const { d, ctx } = await driver(port, [tag('sp', 'hr:200', 'int16')]);
    await waitFor(() => ctx.latest('sp')?.quality === 'good', 10_000, 'good');
    await first.close();
    await waitFor(() => ctx.latest('sp')?.quality === 'bad', 10_000, 'bad after close');
    expect(ctx.latest('sp')).toMatchObject({ reason: 'disconnected' });
    await sim({ port });
    await waitFor(
      () => d.status().state === 'connected' && ctx.latest('sp')?.quality === 'good',
      20_000,
      'good again',
    );
    expect(ctx.all('sp').filter((x) => x.quality === 'bad')).toHaveLength(1);
  });
});
