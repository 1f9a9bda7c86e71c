// A faster decoder for OPC UA DateTime, installed into node-opcua. node-opcua turns each DateTime (an
// unsigned 64-bit count of 100 ns since 1601) into a Date with the `long` library: a division and a
// modulo on Long objects, about ten short-lived objects per timestamp. A data change carries two
// timestamps, so at 10,000 items every 100 ms those Longs were over half of everything the gateway
// allocated (heap sampling), and the garbage they left behind is what grew its memory. The same
// result comes from plain numbers: split the high word so that every step stays below 2^53.
import { createRequire } from 'node:module';

const TWO_POW_32 = 4294967296;
/** Milliseconds from 1601-01-01 to 1970-01-01. */
const EPOCH_1601_MS = 11644473600000;

type DecodeToDate = (high: number, low: number, picoseconds?: number, value?: Date | null) => [Date, number];

/**
 * The 64-bit count (as node-opcua reads it: two Int32 words, high and low) as a Date plus the
 * picoseconds the Date cannot hold, exactly as node-opcua's `bn_hundredNanoSecondFrom1601ToDate`.
 */
export function hundredNanoSecondsFrom1601ToDate(high: number, low: number, picoseconds = 0): [Date, number] {
  const hi = high >>> 0;
  const lo = low >>> 0;
  const hiQuotient = Math.floor(hi / 10000);
  // (hi mod 10000) * 2^32 + lo < 10001 * 2^32 < 2^53: exact.
  const rest = (hi - hiQuotient * 10000) * TWO_POW_32 + lo;
  const ms = hiQuotient * TWO_POW_32 + Math.floor(rest / 10000);
  const date = new Date(ms - EPOCH_1601_MS);
  return [date, (rest % 10000) * 100000 + (picoseconds || 0)];
}

/** Pairs of words checked against node-opcua's own decoder before ours replaces it. */
const PROBES: readonly [number, number][] = [
  [0, 0],
  [0, 1],
  [0x01dc_1234 | 0, 0x89ab_cdef | 0],
  [0x7fff_ffff, 0xffff_ffff | 0],
  [0xffff_ffff | 0, 0xffff_ffff | 0],
  [0x0000_2710, 0x0000_2710],
  [0x01db_0000, 0x0000_270f],
];

let installed: boolean | undefined;

/**
 * Replaces node-opcua's DateTime decoder with ours, once per process. It is installed only when
 * both agree on every probe, so a node-opcua upgrade that changes the function keeps its own.
 */
export function installFastDateTimeDecoder(): boolean {
  if (installed !== undefined) return installed;
  installed = false;
  try {
    const require = createRequire(import.meta.url);
    // encode_decode.js calls it through this module's exports object, so replacing it there is enough.
    const mod = require('node-opcua-date-time/dist/date_time.js') as {
      bn_hundredNanoSecondFrom1601ToDate?: DecodeToDate;
    };
    const original = mod.bn_hundredNanoSecondFrom1601ToDate;
    if (typeof original !== 'function') return false;
    for (const [high, low] of PROBES) {
      const [d1, p1] = original(high, low, 0, null);
      const [d2, p2] = hundredNanoSecondsFrom1601ToDate(high, low, 0);
      if (d1.getTime() !== d2.getTime() && !(Number.isNaN(d1.getTime()) && Number.isNaN(d2.getTime())))
        return false;
      if (p1 !== p2) return false;
    }
    mod.bn_hundredNanoSecondFrom1601ToDate = hundredNanoSecondsFrom1601ToDate;
    installed = true;
  } catch {
    installed = false;
  }
  return installed;
}
