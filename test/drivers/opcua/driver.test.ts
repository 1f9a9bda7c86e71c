// The driver against a real node-opcua server (the simulator): subscriptions, every value type,
// polling mode, writes and each failure, and a dead endpoint that must not block start-up.
import { describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../../helpers/net.js';
import { makeDriver, recorder, simAndDriver, tag } from './harness.js';

const TYPES: [string, unknown][] = [
  ['Boolean', true],
  ['SByte', -100],
  ['Byte', 200],
  ['Int16', -30000],
  ['UInt16', 60000],
  ['Int32', -2000000000],
  ['UInt32', 4000000000],
  ['Int64', '-9007199254740993'],
  ['UInt64', '18446744073709551615'],
  ['Float', 21.5],
  ['Double', 3.141592653589793],
  ['String', 'hello oven'],
  ['DateTime', '2026-01-02T03:04:05.678Z'],
  ['ByteString', '3q2+7w=='],
  ['LocalizedText', 'Ofen'],
  ['Guid', '72962B91-FA75-4AE6-8D28-B404DC7DAF63'],
  ['Int32Array', [1, -2, 3]],
  ['DoubleArray', [1.5, 2.5]],
  ['StringArray', ['a', 'b']],
  ['Range', { low: 0, high: 400 }],
];

const oven = simAndDriver('driver', { id: 'oven1' }, [
  tag('temperature', 'ns=2;s=Oven.Temperature', { pollMs: 100 }),
  tag('state', 'ns=2;s=Oven.State'),
  tag('zones', 'ns=2;s=Oven.ZoneTemperatures'),
  tag('polledTemp', 'ns=2;s=Oven.Temperature', { mode: 'poll', pollMs: 150 }),
  tag('setpoint', 'ns=2;s=Oven.Setpoint', { writable: true, min: 0, max: 250 }),
  tag('service', 'ns=2;s=Oven.ServiceSetpoint', { writable: true }),
  tag('readOnly', 'ns=2;s=Types.ReadOnlyInt32', { writable: true }),
  tag('notWritable', 'ns=2;s=Types.Int32'),
  tag('missing', 'ns=2;s=No.Such.Node'),
  ...TYPES.map(([t]) => tag(`t${t}`, `ns=2;s=Types.${t}`, { writable: true, mode: 'poll', pollMs: 60_000 })),
]);
const { rec, dataDir } = oven;

describe('OPC UA driver against the simulator', () => {
  it('connects and streams subscribed values that move, with source timestamps', async () => {
    await waitFor(() => oven.driver.status().state === 'connected', 30_000, 'connected');
    const first = await waitFor(() => rec.last('temperature'), 10_000, 'a temperature');
    expect(first.quality).toBe('good');
    await waitFor(
      () => rec.samples.filter((s) => s.tag === 'temperature' && s.quality === 'good').length >= 3,
      10_000,
      'three temperature changes',
    );
    const temps = rec.samples.filter((s) => s.tag === 'temperature' && s.quality === 'good');
    expect(new Set(temps.map((s) => s.value)).size).toBeGreaterThan(1);
    expect(Math.abs(temps.at(-1)!.ts - Date.now())).toBeLessThan(60_000);
    const zones = await waitFor(() => rec.last('zones'), 10_000, 'zones');
    expect(Array.isArray(zones.value) && zones.value.length === 3).toBe(true);
  });

  it('polls poll-mode tags with the Read service', async () => {
    await waitFor(() => rec.samples.filter((s) => s.tag === 'polledTemp').length >= 3, 10_000, 'three polls');
    expect(rec.last('polledTemp')!.quality).toBe('good');
  });

  it('decodes every value type exactly', async () => {
    const samples = await oven.driver.read(TYPES.map(([t]) => `t${t}`));
    for (const [t, expected] of TYPES) {
      const s = samples.find((x) => x.tag === `t${t}`)!;
      expect(s.quality, t).toBe('good');
      expect(s.value, t).toEqual(expected);
    }
  });

  it('marks an unknown node bad with the server status name', async () => {
    const s = await waitFor(() => rec.last('missing'), 10_000, 'missing');
    expect(s).toMatchObject({ quality: 'bad', reason: 'BadNodeIdUnknown' });
  });

  it('writes coerced to the node DataType and reads back', async () => {
    const r = await oven.driver.write('setpoint', 200);
    expect(r).toMatchObject({ ok: true, sample: { tag: 'setpoint', quality: 'good', value: 200 } });
    const cases: [string, unknown][] = [
      ['tInt64', '-9223372036854775808'],
      ['tUInt64', '18446744073709551614'],
      ['tByte', 7],
      ['tFloat', 0.1],
      ['tDateTime', '2030-05-06T07:08:09.000Z'],
      ['tByteString', 'AQID'],
      ['tLocalizedText', 'Four'],
      ['tInt32Array', [4, 5, 6, 7]],
      ['tBoolean', false],
      ['tString', 'changed'],
    ];
    for (const [name, value] of cases) {
      const res = await oven.driver.write(name, value as never);
      expect(res, name).toMatchObject({ ok: true, sample: { value } });
    }
  });

  it('refuses bad writes with a reason, device status codes included', async () => {
    // Text UTF-8 cannot carry is refused before anything is sent (min/max are the router's).
    expect(await oven.driver.write('tString', 'a\ud800')).toEqual({
      ok: false,
      error:
        '"a\\ud800": character 2 is an unpaired surrogate (U+D800), not text: it cannot be written in utf8',
      outcome: 'refused',
    });
    expect(await oven.driver.write('notWritable', 1)).toEqual({
      ok: false,
      error: 'tag notWritable is not writable',
      outcome: 'refused',
    });
    expect(await oven.driver.write('tByte', 300)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/out of range for Byte/),
    });
    expect(await oven.driver.write('tInt32', 1.5)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/expected an integer/),
    });
    expect(await oven.driver.write('tBoolean', 'yes')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/Boolean/),
    });
    expect(await oven.driver.write('tInt32Array', 5)).toMatchObject({
      ok: false,
      error: 'expected an array',
    });
    expect(await oven.driver.write('service', 1)).toEqual({ ok: false, error: 'BadUserAccessDenied' });
    expect(await oven.driver.write('readOnly', 1)).toEqual({ ok: false, error: 'BadNotWritable' });
    expect(await oven.driver.write('nope', 1)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown tag/),
    });
    // The string refused never reached the device.
    const [text] = await oven.driver.read(['tString']);
    expect(text!.value).toBe('changed');
  });

  it('reports status with request counters and round trips', () => {
    const st = oven.driver.status();
    expect(st.state).toBe('connected');
    expect(st.requests).toBeGreaterThan(0);
    expect(st.rttMsAvg).toBeGreaterThan(0);
    expect(st.counters?.notifications).toBeGreaterThan(0);
  });
});

describe('a dead endpoint', () => {
  it('does not block start, marks tags bad/disconnected and keeps retrying', async () => {
    const port = await freePort();
    const deadRec = recorder();
    const dead = makeDriver(
      {
        id: 'dead',
        endpointUrl: `opc.tcp://127.0.0.1:${port}`,
        reconnectInitialDelayMs: 100,
        connectTimeoutMs: 2000,
      },
      [tag('x', 'ns=2;s=Oven.Temperature')],
      dataDir,
      deadRec,
    );
    // start() resolves before any connection attempt has finished.
    await dead.start();
    expect(dead.status().state).toBe('connecting');
    const bad = await waitFor(() => deadRec.last('x'), 30_000, 'a bad sample');
    expect(bad).toMatchObject({ quality: 'bad', value: null, reason: 'disconnected' });
    await waitFor(
      () => dead.status().lastError?.includes('connection refused'),
      30_000,
      'the refusal as last error',
    );
    expect(await dead.write('x', 1)).toMatchObject({ ok: false });
    expect(await dead.read(['x'])).toMatchObject([{ quality: 'bad', reason: 'disconnected' }]);
    await dead.stop();
    expect(dead.status().state).toBe('stopped');
  }, 60_000);
});
