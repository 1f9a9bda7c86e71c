// The driver against an independent Modbus TCP server (Debian's pymodbus): every type in every
// byte order, every function code, exceptions, timeouts and a server restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TagConfig } from '../../../drivers/types.js';
import { freePort, waitFor } from '../../helpers/net.js';
import { modbusLab, tag, type Recorder } from './helpers.js';
import { startPymodbus, type PymodbusSpec, type RunningPymodbus } from './pymodbus.js';
import { registerMap, typeCases } from './typecases.js';

const cases = typeCases(1000);
const spec: PymodbusSpec = {
  unit: 1,
  hr: {
    ...registerMap(cases),
    200: 7,
    201: 0,
    202: 0,
    205: 0,
    206: 0,
    207: 0,
    208: 0,
    210: 0x0101,
    220: 0,
    221: 0,
  },
  ir: { 0: 4321, 1: 65535, 2: 7 },
  coil: { 0: 1, 1: 0, 2: 1, 4: 0, 5: 0, 6: 0, 10: 0 },
  di: { 0: 1, 1: 0, 2: 1 },
};

describe('modbus driver against pymodbus', () => {
  let server: RunningPymodbus;
  let port: number;
  const lab = modbusLab();
  const start = async (tags: TagConfig[], extra: Record<string, unknown> = {}) => {
    const { d, ctx } = await lab.driver(port, tags, extra);
    return { driver: d, ctx };
  };

  beforeAll(async () => {
    port = await freePort();
    server = await startPymodbus(port, spec);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('decodes every type in every byte order, strings, arrays, bits and scaling (FC 3)', async () => {
    const { driver, ctx } = await start(cases.map((c) => c.tag));
    const samples = await driver.read(cases.map((c) => c.tag.name));
    for (const c of cases) {
      const sample = samples.find((s) => s.tag === c.tag.name);
      expect(sample, c.tag.name).toMatchObject({ quality: 'good', value: c.expected });
    }
    // The poll schedule delivers the same values in batches.
    await waitFor(
      () => cases.every((c) => ctx.latest(c.tag.name)?.quality === 'good'),
      10_000,
      'polled values',
    );
    for (const c of cases) expect(ctx.latest(c.tag.name)?.value, c.tag.name).toEqual(c.expected);
    // Planned, not one request per tag: the cases are contiguous, so a few reads cover them all.
    expect(driver.status().counters?.requestsPerScan).toBeLessThan(cases.length / 4);
  });

  it('reads input registers, coils and discrete inputs (FC 4, 1, 2), also by Modicon address', async () => {
    const { driver } = await start([
      tag('ir0', 'ir:0', 'uint16'),
      tag('ir1', '30002', 'int16'),
      tag('ir2', '300003', 'uint16', { scale: 0.5 }),
      tag('c0', 'coil:0', 'bool'),
      tag('c1', '00002', 'bool'),
      tag('c2', 'coil:0', 'bool', { count: 3 }),
      tag('d0', 'di:0', 'bool'),
      tag('d1', '10002', 'bool'),
      tag('d2', 'di:2', 'bool'),
      tag('hrModicon', '40201', 'int16'),
    ]);
    const samples = await driver.read(['ir0', 'ir1', 'ir2', 'c0', 'c1', 'c2', 'd0', 'd1', 'd2', 'hrModicon']);
    const value = (name: string) => samples.find((s) => s.tag === name);
    expect(value('ir0')).toMatchObject({ quality: 'good', value: 4321 });
    expect(value('ir1')).toMatchObject({ quality: 'good', value: -1 });
    expect(value('ir2')).toMatchObject({ quality: 'good', value: 3.5 });
    expect(value('c0')).toMatchObject({ quality: 'good', value: true });
    expect(value('c1')).toMatchObject({ quality: 'good', value: false });
    expect(value('c2')).toMatchObject({ quality: 'good', value: [true, false, true] });
    expect(value('d0')).toMatchObject({ quality: 'good', value: true });
    expect(value('d1')).toMatchObject({ quality: 'good', value: false });
    expect(value('d2')).toMatchObject({ quality: 'good', value: true });
    expect(value('hrModicon')).toMatchObject({ quality: 'good', value: 7 });
  });

  it('writes with FC 5, 6, 15 and 16 and confirms each by reading back', async () => {
    const { driver } = await start([
      tag('coil', 'coil:1', 'bool', { writable: true }),
      tag('coils', 'coil:4', 'bool', { writable: true, count: 3 }),
      tag('setpoint', 'hr:200', 'int16', { writable: true, scale: 0.1 }),
      tag('float', 'hr:201', 'float32', { writable: true, byteOrder: 'CDAB' }),
      tag('big', 'hr:205', 'uint64', { writable: true }),
      tag('flag', 'hr:210.4', 'bool', { writable: true }),
      tag('word', 'hr:210', 'uint16'),
    ]);
    expect(await driver.write('coil', true)).toMatchObject({ ok: true, sample: { value: true } });
    expect(await driver.write('coils', [true, false, true])).toMatchObject({
      ok: true,
      sample: { value: [true, false, true] },
    });
    expect(await driver.write('setpoint', -12.3)).toMatchObject({ ok: true, sample: { value: -12.3 } });
    expect(await driver.write('float', 2.5)).toMatchObject({ ok: true, sample: { value: 2.5 } });
    expect(await driver.write('big', '18446744073709551615')).toMatchObject({
      ok: true,
      sample: { value: '18446744073709551615' },
    });
    // Read-modify-write of one bit keeps the other bits of the register.
    expect(await driver.write('flag', true)).toMatchObject({ ok: true, sample: { value: true } });
    expect((await driver.read(['word']))[0]).toMatchObject({ value: 0x0111 });
    expect(await driver.write('flag', false)).toMatchObject({ ok: true });
    expect((await driver.read(['word']))[0]).toMatchObject({ value: 0x0101 });

    // A device that refuses FC 5/6 gets 15/16 for single values too.
    const forced = await start(
      [tag('c', 'coil:10', 'bool', { writable: true }), tag('s', 'hr:220', 'uint16', { writable: true })],
      {
        forceMultipleWrites: true,
      },
    );
    expect(await forced.driver.write('c', true)).toMatchObject({ ok: true, sample: { value: true } });
    expect(await forced.driver.write('s', 65535)).toMatchObject({ ok: true, sample: { value: 65535 } });
  });

  it('refuses values out of the raw range or of the wrong type without touching the device', async () => {
    const { driver } = await start([
      tag('setpoint', 'hr:200', 'int16', { writable: true, scale: 0.1 }),
      tag('ro', 'hr:221', 'uint16'),
      tag('coil', 'coil:1', 'bool', { writable: true }),
    ]);
    await driver.write('setpoint', 1);
    const before = driver.status().requests;
    // Refused before anything is sent: the outcome is known.
    expect(await driver.write('setpoint', 4000)).toEqual({
      ok: false,
      outcome: 'refused',
      error: expect.stringMatching(/raw 40000.*int16 range/),
    });
    expect(await driver.write('setpoint', 'hot')).toEqual({
      ok: false,
      outcome: 'refused',
      error: expect.stringMatching(/takes a number/),
    });
    expect(await driver.write('coil', 2)).toEqual({
      ok: false,
      outcome: 'refused',
      error: expect.stringMatching(/true or false/),
    });
    expect(await driver.write('ro', 1)).toEqual({
      ok: false,
      outcome: 'refused',
      error: 'tag ro is not writable',
    });
    expect(await driver.write('nope', 1)).toEqual({
      ok: false,
      outcome: 'refused',
      error: expect.stringMatching(/unknown tag nope/),
    });
    expect(driver.status().requests).toBe(before);
    expect((await driver.read(['setpoint']))[0]).toMatchObject({ value: 1 });
  });

  it('turns an exception reply into bad quality that names it', async () => {
    const { ctx } = await start([tag('missing', 'hr:5000', 'uint16'), tag('fine', 'hr:200', 'int16')]);
    const bad = await waitFor(() => ctx.latest('missing'), 10_000, 'sample of missing');
    expect(bad).toMatchObject({
      quality: 'bad',
      value: null,
      reason: 'modbus exception 2 (illegal data address)',
    });
    expect(ctx.latest('fine')?.quality).toBe('good');
  });

  it('turns a unit that never answers into bad quality "timeout" and counts it', async () => {
    const { driver, ctx } = await start([tag('x', 'hr:200', 'int16')], {
      unitId: 9,
      timeoutMs: 200,
      retries: 1,
    });
    const sample = await waitFor(() => ctx.latest('x'), 10_000, 'timeout sample');
    expect(sample).toMatchObject({ quality: 'bad', reason: 'timeout' });
    expect(driver.status().timeouts).toBeGreaterThanOrEqual(2);
    expect(driver.status().counters?.retries).toBeGreaterThanOrEqual(1);
  });

  it('marks tags disconnected once when the server dies, and reconnects when it is back', async () => {
    const { driver, ctx } = await start([tag('x', 'hr:200', 'int16'), tag('y', 'ir:0', 'uint16')]);
    await waitFor(() => ctx.latest('x')?.quality === 'good', 10_000, 'first good value');
    await server.stop();
    await waitFor(() => driver.status().state !== 'connected', 10_000, 'disconnect noticed');
    await waitFor(() => ctx.latest('x')?.quality === 'bad', 10_000, 'bad after disconnect');
    server = await startPymodbus(port, spec);
    await waitFor(() => driver.status().state === 'connected', 20_000, 'reconnected');
    await waitFor(() => ctx.latest('x')?.quality === 'good', 10_000, 'good again');
    const disconnected = ctx.all('x').filter((s) => s.quality === 'bad' && s.reason === 'disconnected');
    expect(disconnected).toHaveLength(1);
    expect(ctx.all('y').filter((s) => s.quality === 'bad' && s.reason === 'disconnected')).toHaveLength(1);
    expect(driver.status().counters?.reconnects).toBeGreaterThanOrEqual(1);
  });
});

export type { Recorder };
