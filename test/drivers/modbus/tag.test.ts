// Addresses (wire and Modicon forms), the semantic tag checks of `tagwire validate`, and the
// write-side encoding rules (inverse scaling, rounding, raw range checks).
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../../drivers/modbus/address.js';
import { encodeTag } from '../../../drivers/modbus/codec.js';
import { modbusTagConfig } from '../../../drivers/modbus/config.js';
import { modbusDriver } from '../../../drivers/modbus/index.js';
import { resolveTag, type ResolvedTag } from '../../../drivers/modbus/tag.js';
import { rawTag, tag, tcpDevice } from './helpers.js';

const device = tcpDevice(502);

describe('modbus addresses', () => {
  it.each([
    ['hr:0', { table: 'hr', address: 0 }],
    ['ir:65535', { table: 'ir', address: 65535 }],
    ['coil:7', { table: 'coil', address: 7 }],
    ['di:3', { table: 'di', address: 3 }],
    ['hr:100.3', { table: 'hr', address: 100, bit: 3 }],
    ['40001', { table: 'hr', address: 0 }],
    ['49999', { table: 'hr', address: 9998 }],
    ['400001', { table: 'hr', address: 0 }],
    ['465536', { table: 'hr', address: 65535 }],
    ['30001', { table: 'ir', address: 0 }],
    ['10001', { table: 'di', address: 0 }],
    ['00001', { table: 'coil', address: 0 }],
    ['000100', { table: 'coil', address: 99 }],
    ['40101.15', { table: 'hr', address: 100, bit: 15 }],
  ])('%s', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected);
  });

  it.each([
    ['hr:65536', /beyond 65535/],
    ['40000', /1-based/],
    ['hr:1.16', /bit 16/],
    ['x:1', /not hr:N/],
    ['20001', /not hr:N/],
    ['hr:-1', /not hr:N/],
  ])('rejects %s', (text, message) => {
    const result = parseAddress(text);
    expect('error' in result && result.error).toMatch(message);
  });
});

describe('modbus tag checks', () => {
  it.each([
    [rawTag('a', 'coil:1', 'float32'), '/type', /type must be bool/],
    [rawTag('a', 'coil:1.2', 'bool'), '/address', /bit index/],
    [rawTag('a', 'hr:1.2', 'int16'), '/type', /is a bool/],
    [rawTag('a', 'ir:1', 'int16', { writable: true }), '/writable', /read-only/],
    [rawTag('a', 'di:1', 'bool', { writable: true }), '/writable', /read-only/],
    [rawTag('a', 'hr:1', 'string'), '/length', /needs "length"/],
    [rawTag('a', 'hr:1', 'int16', { length: 2 }), '/length', /applies to strings/],
    [rawTag('a', 'hr:1', 'bool', { scale: 2 }), '/scale', /cannot be scaled/],
    [rawTag('a', 'hr:1', 'int16', { scale: 0 }), '/scale', /scale 0/],
    [rawTag('a', 'hr:1', 'float64', { count: 40 }), '/count', /160 registers, more than the 125/],
    [rawTag('a', 'hr:65535', 'int32'), '/address', /runs past/],
    [rawTag('a', 'hr:1', 'int128'), '/type', /unknown Modbus type/],
    [rawTag('a', 'hr:1', 'int16', { byteOrder: 'ABDC' }), '/byteOrder', /not ABCD/],
    [rawTag('a', 'hr:1.3', 'bool', { count: 2 }), '/count', /cannot be an array/],
  ])('%o is refused at %s', (t, pointer, message) => {
    const problems = modbusDriver.checkTag(t, device);
    expect(problems).toContainEqual({ pointer, message: expect.stringMatching(message) });
  });

  it('accepts well-formed tags and honours device limits', () => {
    expect(
      modbusDriver.checkTag(tag('a', 'hr:1', 'float32', { count: 10, byteOrder: 'CDAB' }), device),
    ).toEqual([]);
    const small = tcpDevice(502, { limits: { maxRegisters: 8 } });
    expect(modbusDriver.checkTag(tag('a', 'hr:1', 'float32', { count: 10 }), small)[0]?.message).toMatch(
      /more than the 8/,
    );
  });
});

describe('modbus tag defaults', () => {
  it('come from the tag schema alone: a tag without an encoding resolves to ascii', () => {
    const t = modbusTagConfig({
      name: 's',
      address: 'hr:1',
      type: 'string',
      length: 2,
      pollMs: 100,
      writable: false,
    });
    expect(t).toMatchObject({ encoding: 'ascii', swapBytes: false });
    expect(resolveTag(t, device)).toMatchObject({ encoding: 'ascii', swapBytes: false });
  });

  it('refuses an encoding the schema does not know, saying where', () => {
    expect(() =>
      modbusTagConfig({
        name: 's',
        address: 'hr:1',
        type: 'string',
        pollMs: 100,
        writable: false,
        encoding: 'ebcdic',
      }),
    ).toThrow(/invalid modbus tag s: \/encoding: must be equal to one of the allowed values/);
  });
});

describe('modbus write encoding', () => {
  const resolved = (t: ReturnType<typeof tag>) => resolveTag(t, device) as ResolvedTag;
  const words = (e: ReturnType<typeof encodeTag>) =>
    'data' in e && e.kind === 'registers' ? [...Buffer.from(e.data)] : e;

  it('applies the inverse scale and rounds to the raw type', () => {
    expect(words(encodeTag(resolved(tag('t', 'hr:1', 'int16', { scale: 0.1 })), 12.3))).toEqual([0, 123]);
    expect(
      words(encodeTag(resolved(tag('t', 'hr:1', 'uint16', { scale: 0.1, offset: -10 })), 113.4)),
    ).toEqual([4, 210]);
    expect(words(encodeTag(resolved(tag('t', 'hr:1', 'int32', { byteOrder: 'CDAB' })), -2))).toEqual([
      0xff, 0xfe, 0xff, 0xff,
    ]);
  });

  it('takes a scaled value only on a whole raw step, rounding away float noise', () => {
    const scaled = resolved(tag('t', 'hr:1', 'int16', { scale: 0.1 }));
    const raw = (v: number) => {
      const e = encodeTag(scaled, v);
      return 'data' in e && e.kind === 'registers' ? Buffer.from(e.data).readInt16BE(0) : e;
    };
    expect(raw(80.3)).toBe(803); // 80.3 / 0.1 = 802.9999999999999
    expect(raw(Math.fround(80.3))).toBe(803); // an HMI's float32: 80.30000305...
    expect(raw(-12.3)).toBe(-123);
    expect(raw(-0.05 * 2)).toBe(-1);
    expect(raw(80.33)).toEqual({
      error:
        'value 80.33 is between two steps of t (scale 0.1: raw 803.3 is not a whole number): the nearest values it can hold are 80.3 and 80.4',
    });
    expect(raw(-2.55)).toEqual({
      error: expect.stringMatching(
        /raw -25.5 is not a whole number\): the nearest values it can hold are -2.6 and -2.5$/,
      ),
    });
    const offset = resolved(tag('t', 'hr:1', 'uint16', { scale: 0.5, offset: 100 }));
    expect(encodeTag(offset, 100.25)).toEqual({
      error:
        'value 100.25 is between two steps of t (scale 0.5, offset 100: raw 0.5 is not a whole number): the nearest values it can hold are 100 and 100.5',
    });
  });

  it('refuses characters the string encoding cannot hold', () => {
    const str = (encoding?: string) =>
      resolved(tag('t', 'hr:1', 'string', { length: 2, ...(encoding ? { encoding } : {}) }));
    expect(words(encodeTag(str('latin1'), 'é'))).toEqual([0xe9, 0, 0, 0]);
    expect(encodeTag(str('latin1'), '€')).toEqual({
      error:
        '"€" for t: character 1, "€" (U+20AC), cannot be written in latin1 (ISO 8859-1, U+0000 to U+00FF)',
    });
    expect(words(encodeTag(str(), 'A~'))).toEqual([0x41, 0x7e, 0, 0]);
    expect(encodeTag(str(), 'é')).toEqual({
      error: '"é" for t: character 1, "é" (U+00E9), cannot be written in ascii (U+0000 to U+007F)',
    });
    expect(words(encodeTag(str('utf8'), '€'))).toEqual([0xe2, 0x82, 0xac, 0]);
    expect(encodeTag(str('utf8'), '\udfff')).toEqual({
      error: expect.stringMatching(/character 1 is an unpaired surrogate \(U\+DFFF\)/),
    });
    // A character beyond the BMP counts as one: the position names the right one.
    expect(encodeTag(str('latin1'), '🙂é€')).toMatchObject({
      error: expect.stringMatching(/character 1, "🙂" \(U\+1F642\)/),
    });
  });

  it('checks the raw range and the value type', () => {
    expect(encodeTag(resolved(tag('t', 'hr:1', 'uint16')), -1)).toEqual({
      error: expect.stringMatching(/outside the uint16 range 0..65535/),
    });
    expect(encodeTag(resolved(tag('t', 'hr:1', 'int16', { scale: 0.01 })), 400)).toEqual({
      error: expect.stringMatching(/value 400 \(raw 40000\) is outside the int16 range/),
    });
    expect(encodeTag(resolved(tag('t', 'hr:1', 'float32')), 1e39)).toEqual({
      error: expect.stringMatching(/does not fit a float32/),
    });
    expect(encodeTag(resolved(tag('t', 'hr:1', 'int64')), '9223372036854775808')).toEqual({
      error: expect.stringMatching(/outside the int64/),
    });
    expect(encodeTag(resolved(tag('t', 'hr:1', 'string', { length: 2 })), 'toolong')).toEqual({
      error: expect.stringMatching(/holds 4/),
    });
    expect(encodeTag(resolved(tag('t', 'hr:1', 'int16', { count: 2 })), [1])).toEqual({
      error: expect.stringMatching(/array of 2/),
    });
    expect(encodeTag(resolved(tag('t', 'coil:1', 'bool')), 'yes')).toEqual({
      error: expect.stringMatching(/true or false/),
    });
  });
});
