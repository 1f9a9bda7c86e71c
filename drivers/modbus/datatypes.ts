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

/** Writes one raw value of a numeric type at the start of `view`, big-endian (ABCD order). */
export function writeRaw(view: DataView, type: NumericType, raw: number | bigint): void {
  switch (type) {
    case 'int16':
      return view.setInt16(0, Number(raw));
    case 'uint16':
      return view.setUint16(0, Number(raw));
    case 'int32':
      return view.setInt32(0, Number(raw));
    case 'uint32':
      return view.setUint32(0, Number(raw));
    case 'int64':
      return view.setBigInt64(0, BigInt(raw));
    case 'uint64':
      return view.setBigUint64(0, BigInt(raw));
    case 'float32':
      return view.setFloat32(0, Number(raw));
    case 'float64':
      return view.setFloat64(0, Number(raw));
  }
}

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
