// Numbers to register bytes for the simulator's signals, in any byte order.
import type { ByteOrder, SignalType } from '../config.js';
import { reorder } from '../datatypes.js';

export function registerBytes(
  type: Exclude<SignalType, 'bool'>,
  value: number,
  order: ByteOrder,
): Uint8Array {
  const size = type === 'float64' ? 8 : type === 'int32' || type === 'uint32' || type === 'float32' ? 4 : 2;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  switch (type) {
    case 'int16':
      view.setInt16(0, clamp(Math.round(value), -32768, 32767));
      break;
    case 'uint16':
      view.setUint16(0, clamp(Math.round(value), 0, 65535));
      break;
    case 'int32':
      view.setInt32(0, clamp(Math.round(value), -2147483648, 2147483647));
      break;
    case 'uint32':
      view.setUint32(0, clamp(Math.round(value), 0, 4294967295));
      break;
    case 'float32':
      view.setFloat32(0, value);
      break;
    case 'float64':
      view.setFloat64(0, value);
      break;
  }
  return reorder(bytes, order);
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}
