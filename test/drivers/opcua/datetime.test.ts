// Our DateTime decoder against node-opcua's own (the `long` library one it replaces): the same Date
// and picoseconds for edge values and random ones, and DataValues decoded the same once installed.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  hundredNanoSecondsFrom1601ToDate,
  installFastDateTimeDecoder,
} from '../../../drivers/opcua/datetime.js';
import { loadOpcua } from '../../../drivers/opcua/load.js';

type Decode = (high: number, low: number, picoseconds?: number) => [Date, number];
const require = createRequire(import.meta.url);
const module = require('node-opcua-date-time/dist/date_time.js') as {
  bn_hundredNanoSecondFrom1601ToDate: Decode;
};
// Taken before anything installs ours.
const original = module.bn_hundredNanoSecondFrom1601ToDate;

const same = (high: number, low: number) => {
  const [d1, p1] = original(high, low, 0);
  const [d2, p2] = hundredNanoSecondsFrom1601ToDate(high, low, 0);
  return { expected: [d1.getTime(), p1], actual: [d2.getTime(), p2] };
};

describe('OPC UA DateTime decoding', () => {
  it('matches node-opcua on edge values', () => {
    const words = [0, 1, 9999, 10000, 0x7fffffff, -1, -0x80000000, 0x01dc5a2b, 0x0000270f];
    for (const high of words)
      for (const low of words) {
        const { expected, actual } = same(high, low);
        expect(actual, `high ${high} low ${low}`).toEqual(expected);
      }
  });

  it('matches node-opcua on 20,000 random timestamps, and today with sub-millisecond parts', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) | 0;
    for (let i = 0; i < 20_000; i++) {
      const { expected, actual } = same(next(), next());
      expect(actual).toEqual(expected);
    }
    // 2026-11-30T12:00:00.123Z plus 4567 x 100 ns as node-opcua encodes it.
    const ticks = (BigInt(Date.UTC(2026, 10, 30, 12, 0, 0, 123)) + 11644473600000n) * 10000n + 4567n;
    const [date, picoseconds] = hundredNanoSecondsFrom1601ToDate(
      Number(ticks >> 32n) | 0,
      Number(ticks & 0xffffffffn) | 0,
    );
    expect(date.toISOString()).toBe('2026-11-30T12:00:00.123Z');
    expect(picoseconds).toBe(4567 * 100000);
  });

  it('is installed when node-opcua loads, and DataValues decode as before', async () => {
    const opcua = await loadOpcua();
    expect(installFastDateTimeDecoder()).toBe(true);
    expect(module.bn_hundredNanoSecondFrom1601ToDate).toBe(hundredNanoSecondsFrom1601ToDate);
    const source = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    const dv = new opcua.DataValue({
      value: new opcua.Variant({ dataType: opcua.DataType.Double, value: 21.5 }),
      sourceTimestamp: source,
      sourcePicoseconds: 1200,
      serverTimestamp: new Date(0),
    });
    const stream = new opcua.BinaryStream(dv.binaryStoreSize());
    dv.encode(stream);
    stream.rewind();
    const back = new opcua.DataValue();
    back.decode(stream);
    expect(back.sourceTimestamp?.getTime()).toBe(source.getTime());
    expect(back.sourcePicoseconds).toBe(1200);
    expect(back.serverTimestamp?.getTime()).toBe(0);
    expect(back.value.value).toBe(21.5);
  });
});
