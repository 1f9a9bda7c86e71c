// Numbers to register bytes for the simulator's signals, in any byte order.
import type { ByteOrder, SignalType } from '../config.js';
import { INTEGER_RANGE, registersOf, reorder, writeRaw } from '../datatypes.js';

export function registerBytes(
  type: Exclude<SignalType, 'bool'>,
  value: number,
  order: ByteOrder,
): Uint8Array {
  const bytes = new Uint8Array(registersOf(type) * 2);
  if (type === 'float32' || type === 'float64') writeRaw(new DataView(bytes.buffer), type, value);
  else {
    // A signal past its type's range holds at the bound, as a real device's register would.
    const [lo, hi] = INTEGER_RANGE[type];
    writeRaw(new DataView(bytes.buffer), type, clamp(Math.round(value), Number(lo), Number(hi)));
  }
  return reorder(bytes, order);
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}
