import { describe, expect, it } from 'vitest';
import type { TagSample } from '../../drivers/types.js';
import type { LoadedMapping, MappedTag } from '../../src/config/types.js';
import { parseDeviceSet, parseGet, parseSet } from '../../src/mapping/command-payload.js';
import { snapshotPayload, tagEncoder, tagProperties } from '../../src/mapping/payload.js';
import { compileValueCheck } from '../../src/mapping/value-check.js';

const tag = (over: Partial<MappedTag> = {}): MappedTag => ({
  name: 'temperature',
  address: 'hr:100',
  type: 'float32',
  pollMs: 1000,
  writable: false,
  topic: 'acme/press1/temperature',
  qos: 0,
  retain: false,
  policy: { kind: 'change', deadband: 0, deadbandPercent: 0, heartbeatMs: 0, minIntervalMs: 0 },
  commandTimeoutMs: 5000,
  ...over,
});
const good: TagSample = { tag: 'temperature', ts: 1763726400123, quality: 'good', value: 21.5 };
const bad: TagSample = {
  tag: 'temperature',
  ts: 1763726400200,
  quality: 'bad',
  value: null,
  reason: 'timeout',
};
const text = (b: Buffer): string => b.toString('utf8');

describe('payloads', () => {
  it('decimals: rounds numbers and arrays of numbers in every format; other values as they are', () => {
    const reading: TagSample = { tag: 'temperature', ts: 1, quality: 'good', value: 200.11174 };
    expect(JSON.parse(text(tagEncoder('json', tag({ decimals: 2 }), {})(reading))).value).toBe(200.11);
    expect(text(tagEncoder('value', tag({ decimals: 0 }), {})(reading))).toBe('200');
    expect(text(tagEncoder('value', tag({ decimals: 1 }), {})({ ...reading, value: [1.25, -0.04, 3] }))).toBe(
      '[1.3,0,3]',
    );
    expect(text(tagEncoder('value', tag({ decimals: 1 }), {})({ ...reading, value: true }))).toBe('true');
    expect(text(tagEncoder('value', tag(), {})(reading))).toBe('200.11174');
    const mapping: LoadedMapping = {
      file: 'm.json',
      device: 'press1',
      topic: 'acme/press1',
      format: 'json-device',
      fields: {},
      tags: [tag({ decimals: 1 })],
    };
    const snapshot = snapshotPayload(mapping, new Map([['temperature', reading]]));
    expect(JSON.parse(text(snapshot)).tags.temperature.value).toBe(200.1);
  });

  it('json: the contract payload, reason for bad quality, static fields last', () => {
    const encode = tagEncoder('json', tag({ unit: 'degC' }), { site: 'plant1' });
    expect(JSON.parse(text(encode(good)))).toEqual({
      value: 21.5,
      ts: 1763726400123,
      quality: 'good',
      unit: 'degC',
      site: 'plant1',
    });
    expect(text(encode(good))).toBe(
      '{"value":21.5,"ts":1763726400123,"quality":"good","unit":"degC","site":"plant1"}',
    );
    expect(text(encode(bad))).toBe(
      '{"value":null,"ts":1763726400200,"quality":"bad","reason":"timeout","unit":"degC","site":"plant1"}',
    );
  });
  it('json: values of every kind stay valid JSON', () => {
    const encode = tagEncoder('json', tag(), {});
    for (const value of [
      true,
      'a "quoted" string',
      [1, 2, 3],
      { a: { b: 1 } },
      '18446744073709551615',
      -0.000001,
    ]) {
      expect(JSON.parse(text(encode({ ...good, value }))).value).toEqual(value);
    }
    expect(JSON.parse(text(encode({ ...good, value: Number.NaN }))).value).toBeNull();
  });
  it('json: a bad sample a driver sent without a reason still gives valid JSON', () => {
    const noReason = { tag: 'temperature', ts: 5, quality: 'bad', value: null } as unknown as TagSample;
    expect(JSON.parse(text(tagEncoder('json', tag(), {})(noReason)))).toEqual({
      value: null,
      ts: 5,
      quality: 'bad',
      reason: 'unknown',
    });
  });
  it('value: the bare JSON value', () => {
    const encode = tagEncoder('value', tag(), { ignored: true });
    expect(text(encode(good))).toBe('21.5');
    expect(text(encode({ ...good, value: 'on' }))).toBe('"on"');
    expect(text(encode(bad))).toBe('null');
  });
  it('json-device: every tag with its latest sample in one message', () => {
    const mapping: LoadedMapping = {
      file: '/m.json',
      device: 'press1',
      topic: 'acme/press1',
      format: 'json-device',
      fields: { line: 'l1' },
      tags: [tag({ unit: 'degC' }), tag({ name: 'running', type: 'bool' }), tag({ name: 'never' })],
    };
    const latest = new Map<string, TagSample>([
      ['temperature', good],
      ['running', { tag: 'running', ts: 1763726400300, quality: 'uncertain', value: true, reason: 'stale' }],
    ]);
    expect(JSON.parse(text(snapshotPayload(mapping, latest)))).toEqual({
      ts: 1763726400300,
      device: 'press1',
      tags: {
        temperature: { value: 21.5, ts: 1763726400123, quality: 'good', unit: 'degC' },
        running: { value: true, ts: 1763726400300, quality: 'uncertain', reason: 'stale' },
      },
      line: 'l1',
    });
  });
  it('MQTT 5 properties: content type, expiry and user properties', () => {
    expect(tagProperties(tag({ unit: 'bar', expirySec: 30 }), 'press1')).toEqual({
      contentType: 'application/json',
      messageExpiryInterval: 30,
      userProperties: { device: 'press1', unit: 'bar' },
    });
    expect(tagProperties(tag(), 'press1')).toEqual({
      contentType: 'application/json',
      userProperties: { device: 'press1' },
    });
  });
});

describe('command values', () => {
  it('range, type and enum, in the words of the contract', () => {
    const setpoint = compileValueCheck(tag({ type: 'int16', writable: true, min: 0, max: 500 }));
    expect(setpoint(123)).toBeUndefined();
    expect(setpoint(900)).toBe('value 900 above max 500');
    expect(setpoint(-1)).toBe('value -1 below min 0');
    expect(setpoint(1.5)).toBe('value must be an integer, got 1.5');
    expect(setpoint('12')).toBe('value must be an integer, got "12"');
    expect(compileValueCheck(tag({ type: 'bool' }))(1)).toBe('value must be true or false, got 1');
    expect(compileValueCheck(tag({ type: 'Double' }))('x')).toBe('value must be a number, got "x"');
    expect(compileValueCheck(tag({ type: 'uint16', enum: [1, 2, 4] }))(3)).toBe(
      'value must be one of 1, 2, 4, got 3',
    );
    expect(compileValueCheck(tag({ type: 'int64' }))('-9007199254740993')).toBeUndefined();
    expect(compileValueCheck(tag({ type: 'int64' }))('12a')).toBe(
      'value must be an integer (a number or a string of digits), got "12a"',
    );
    expect(compileValueCheck(tag({ type: 'auto' }))(null)).toBe('value must not be null');
  });
  it('arrays: the element count and each element', () => {
    const check = compileValueCheck(tag({ type: 'uint16', count: 3, max: 10 }));
    expect(check([1, 2, 3])).toBeUndefined();
    expect(check([1, 2])).toBe('value must be an array of 3 elements');
    expect(check([1, 20, 3])).toBe('value[1] 20 above max 10');
  });
});

describe('command payloads', () => {
  const b = (s: string): Buffer => Buffer.from(s);
  it('a bare value or an object with value, requestId and ttlMs', () => {
    expect(parseSet(b('123'))).toEqual({ ok: true, command: { value: 123 } });
    expect(parseSet(b('{"value":true,"requestId":"r1","ttlMs":500}'))).toEqual({
      ok: true,
      command: { value: true, requestId: 'r1', ttlMs: 500 },
    });
    expect(parseSet(b(''))).toEqual({
      ok: false,
      error: 'empty payload: send a JSON value or {"value": ...}',
    });
    expect(parseSet(b('abc'))).toEqual({ ok: false, error: 'payload is not valid JSON: "abc"' });
    expect(parseSet(b('{"vlaue":1,"requestId":"r2"}'))).toEqual({
      ok: false,
      error: 'an object payload needs a "value" key: {"value": ..., "requestId": "..."}',
      requestId: 'r2',
    });
    expect(parseSet(b('{"value":1,"requestId":"r3","extra":1}'))).toEqual({
      ok: false,
      error: 'unknown key "extra" in the command (allowed: value, requestId, ttlMs)',
      requestId: 'r3',
    });
    expect(parseSet(b('{"value":1,"ttlMs":-1}'))).toEqual({
      ok: false,
      error: 'ttlMs must be an integer from 0 to 3600000, got -1',
    });
  });
  it('device commands keep the order of their values', () => {
    expect(parseDeviceSet(b('{"values":{"b":2,"a":1},"requestId":"x"}'))).toEqual({
      ok: true,
      command: {
        values: [
          ['b', 2],
          ['a', 1],
        ],
        requestId: 'x',
      },
    });
    expect(parseDeviceSet(b('{"values":{}}')).ok).toBe(false);
  });
  it('reads take nothing or a requestId', () => {
    expect(parseGet(b(''))).toEqual({ ok: true, command: {} });
    expect(parseGet(b('{"requestId":"g"}'))).toEqual({ ok: true, command: { requestId: 'g' } });
    expect(parseGet(b('5')).ok).toBe(false);
  });
});
