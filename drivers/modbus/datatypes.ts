// Value layouts: how many registers a type takes and how its bytes are ordered on the wire.
import { INT16, INT32, INT64, UINT16, UINT32, UINT64, type IntegerRange } from '../integers.js';
import type { ByteOrder } from './config.js';

export type DataType =
  'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64' | 'string';

export const DATA_TYPES: readonly DataType[] = [
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'string',
];

export function isDataType(text: string): text is DataType {
  return (DATA_TYPES as readonly string[]).includes(text);
}

/** Registers one element of a register-table type takes; strings take their `length`. */
export function registersOf(type: Exclude<DataType, 'string'>): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'int64':
    case 'uint64':
    case 'float64':
      return 4;
  }
}

export type NumericType = Exclude<DataType, 'bool' | 'string'>;

/** The raw range of an integer type, for write range checks. */
export const INTEGER_RANGE: Record<Exclude<NumericType, 'float32' | 'float64'>, IntegerRange> = {
  int16: INT16,
  uint16: UINT16,
  int32: INT32,
  uint32: UINT32,
  int64: INT64,
  uint64: UINT64,
};

/**
 * Reorders `bytes` (2 * registers, as on the wire) into big-endian (ABCD) order, or back: both
 * swaps are their own inverse. BADC swaps the bytes in each register; CDAB reverses the registers;
 * DCBA does both (fully little-endian).
 */
export function reorder(bytes: Uint8Array, order: ByteOrder): Uint8Array {
  if (order === 'ABCD') return bytes;
  const words = bytes.length >> 1;
  const out = new Uint8Array(bytes.length);
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  for (let w = 0; w < words; w++) {
    const src = swapWords ? words - 1 - w : w;
    const hi = bytes[src * 2] as number;
    const lo = bytes[src * 2 + 1] as number;
    out[w * 2] = swapBytes ? lo : hi;
    out[w * 2 + 1] = swapBytes ? hi : lo;
  }
  return out;
}
