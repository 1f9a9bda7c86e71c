// Pure parts of the driver: node id syntax, schema defaults, value decoding and write coercion.
import { describe, expect, it } from 'vitest';
import { nodeIdProblem } from '../../../drivers/opcua/nodeid.js';
import {
  withDeviceDefaults,
  withSimulatorDefaults,
  withTagDefaults,
} from '../../../drivers/opcua/defaults.js';
import { opcuaDriver } from '../../../drivers/opcua/index.js';
import { float32ToJson, int64ToJson, toSample } from '../../../drivers/opcua/values.js';
import { coerceToVariant } from '../../../drivers/opcua/coerce.js';
import { BuiltIn } from '../../../drivers/opcua/datatypes.js';
import type { TagConfig } from '../../../drivers/types.js';

describe('node ids', () => {
  it.each([
    'ns=2;s=Oven.Temperature',
    'i=2258',
    'ns=3;i=1001',
    'nsu=urn:acme;s=T',
    'ns=1;g=72962B91-FA75-4AE6-8D28-B404DC7DAF63',
    'ns=1;b=AQID',
  ])('accepts %s', (id) => expect(nodeIdProblem(id)).toBeUndefined());
  it.each([
    ['Oven.Temperature', /is not a node id/],
    ['ns=2;x=1', /is not a node id/],
    ['ns=2;i=abc', /not a UInt32/],
    ['ns=70000;s=a', /above 65535/],
    ['ns=1;g=nope', /not a GUID/],
    ['ns=2;s=', /empty identifier/],
  ])('rejects %s', (id, message) => expect(nodeIdProblem(id)).toMatch(message));
});

describe('schemas and checkTag', () => {
  it('defaults a device and resolves its keys', () => {
    const d = withDeviceDefaults({ id: 'oven1', endpointUrl: 'opc.tcp://127.0.0.1:4840' });
    expect(d).toMatchObject({
      securityMode: 'None',
      publishingIntervalMs: 500,
      pkiDir: 'pki/opcua',
      connectTimeoutMs: 5000,
    });
  });
  it('rejects a bad endpoint and a half identity', () => {
    expect(() => withDeviceDefaults({ id: 'x', endpointUrl: 'http://x' })).toThrow(/endpointUrl/);
    expect(() =>
      withDeviceDefaults({ id: 'x', endpointUrl: 'opc.tcp://h:1', user: { username: 'u' } as never }),
    ).toThrow(/user/);
  });
  it('defaults tag keys', () => {
    const t = withTagDefaults({ address: 'ns=2;s=A' }, 't');
    expect(t).toMatchObject({
      type: 'auto',
      mode: 'subscribe',
      queueSize: 1,
      discardOldest: true,
      deadbandType: 'none',
    });
  });
  it('defaults the simulator and refuses unknown keys', () => {
    expect(withSimulatorDefaults({})).toMatchObject({ host: '127.0.0.1', port: 4840, allowAnonymous: true });
    expect(() => withSimulatorDefaults({ colour: 'red' } as never)).toThrow(/additional properties/);
  });
  it('checkTag finds semantic problems with pointers', () => {
    const base: TagConfig = { name: 't', address: 'ns=2;s=A', type: 'auto', pollMs: 1000, writable: false };
    const device = withDeviceDefaults({ id: 'd', endpointUrl: 'opc.tcp://h:1' });
    expect(opcuaDriver.checkTag(base, device)).toEqual([]);
    expect(opcuaDriver.checkTag({ ...base, address: 'hr:100' }, device)[0]).toMatchObject({
      pointer: '/address',
    });
    expect(opcuaDriver.checkTag({ ...base, type: 'String', max: 5 }, device)[0]).toMatchObject({
      pointer: '/max',
    });
    expect(opcuaDriver.checkTag({ ...base, min: 5, max: 1 }, device)[0]).toMatchObject({ pointer: '/min' });
    expect(
      opcuaDriver.checkTag({ ...base, mode: 'poll', deadbandType: 'absolute' }, device)[0],
    ).toMatchObject({
      pointer: '/deadbandType',
    });
  });
});

describe('values', () => {
  it('keeps 64-bit integers exact', () => {
    expect(int64ToJson([0, 42], false)).toBe(42);
    expect(int64ToJson([0xffffffff, 0xffffffff], true)).toBe(-1);
    expect(int64ToJson([0xffffffff, 0xffffffff], false)).toBe('18446744073709551615');
    expect(int64ToJson([0x200000, 1], false)).toBe('9007199254740993');
  });
  it('prints floats the short way', () => {
    expect(float32ToJson(Math.fround(0.1))).toBe(0.1);
    expect(float32ToJson(Math.fround(21.5))).toBe(21.5);
  });
  it('maps status codes to quality and reason', () => {
    const v = { dataType: BuiltIn.Double, arrayType: 0, value: 1 };
    expect(toSample('a', { value: v, statusCode: { value: 0, name: 'Good' } })).toMatchObject({
      quality: 'good',
      value: 1,
    });
    expect(
      toSample('a', { value: v, statusCode: { value: 0x408f0000, name: 'UncertainLastUsableValue' } }),
    ).toMatchObject({
      quality: 'uncertain',
      reason: 'UncertainLastUsableValue',
    });
    expect(
      toSample('a', { value: v, statusCode: { value: 0x80340000, name: 'BadNodeIdUnknown' } }),
    ).toMatchObject({
      quality: 'bad',
      reason: 'BadNodeIdUnknown',
    });
    const nan = { dataType: BuiltIn.Double, arrayType: 0, value: NaN };
    expect(toSample('a', { value: nan, statusCode: { value: 0, name: 'Good' } })).toMatchObject({
      quality: 'bad',
      value: null,
    });
    const ts = new Date('2026-01-01T00:00:00Z');
    expect(toSample('a', { value: v, statusCode: { value: 0, name: 'Good' }, sourceTimestamp: ts }).ts).toBe(
      ts.getTime(),
    );
  });
});

describe('write coercion', () => {
  it('coerces exactly or explains', () => {
    expect(coerceToVariant(BuiltIn.UInt64, -1, '18446744073709551615')).toMatchObject({
      ok: true,
      variant: { value: [0xffffffff, 0xffffffff] },
    });
    expect(coerceToVariant(BuiltIn.Int64, -1, -1)).toMatchObject({
      ok: true,
      variant: { value: [0xffffffff, 0xffffffff] },
    });
    expect(coerceToVariant(BuiltIn.Int16, -1, 40000)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/out of range/),
    });
    expect(coerceToVariant(BuiltIn.Double, -1, 'x')).toMatchObject({ ok: false });
    expect(coerceToVariant(BuiltIn.DateTime, -1, 'not a date')).toMatchObject({ ok: false });
    expect(coerceToVariant(BuiltIn.ByteString, -1, 'AQID')).toMatchObject({ ok: true });
    expect(coerceToVariant(BuiltIn.String, -1, '5 € 🙂')).toMatchObject({ ok: true });
    for (const type of [BuiltIn.String, BuiltIn.XmlElement, BuiltIn.LocalizedText])
      expect(coerceToVariant(type, -1, 'ab\udc00')).toMatchObject({
        ok: false,
        error: expect.stringMatching(/character 3 is an unpaired surrogate \(U\+DC00\)/),
      });
    expect(coerceToVariant(BuiltIn.LocalizedText, -1, { text: 'x', locale: '\ud800' })).toMatchObject({
      ok: false,
    });
    expect(coerceToVariant(BuiltIn.Int32, 1, [1, 'x'])).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^element 1/),
    });
    expect(coerceToVariant(BuiltIn.Int32, -1, [1])).toMatchObject({
      ok: false,
      error: 'expected a single value, got an array',
    });
    expect(coerceToVariant(BuiltIn.ExtensionObject, -1, 1)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not supported/),
    });
  });
});
