// Known values in every type and byte order, laid out at register addresses, with the register
// words a device holds for them. The words come from Node's own Buffer writers and an explicit
// byte permutation per order, independent of the driver's codec.
import { modbusTagConfig } from '../../../drivers/modbus/config.js';
import type { TagConfig, TagValue } from '../../../drivers/types.js';

export type Order = 'ABCD' | 'BADC' | 'CDAB' | 'DCBA';
export const ORDERS: Order[] = ['ABCD', 'BADC', 'CDAB', 'DCBA'];

/** Where byte i of the big-endian value goes, per order and value size. */
const PERMUTATION: Record<number, Record<Order, number[]>> = {
  2: { ABCD: [0, 1], BADC: [1, 0], CDAB: [0, 1], DCBA: [1, 0] },
  4: { ABCD: [0, 1, 2, 3], BADC: [1, 0, 3, 2], CDAB: [2, 3, 0, 1], DCBA: [3, 2, 1, 0] },
  8: {
    ABCD: [0, 1, 2, 3, 4, 5, 6, 7],
    BADC: [1, 0, 3, 2, 5, 4, 7, 6],
    CDAB: [6, 7, 4, 5, 2, 3, 0, 1],
    DCBA: [7, 6, 5, 4, 3, 2, 1, 0],
  },
};

export interface TypeCase {
  tag: TagConfig;
  expected: TagValue;
  /** Register words starting at the tag's address (table hr unless the address says otherwise). */
  words: number[];
  address: number;
}

function wordsOf(bigEndian: Buffer, order: Order): number[] {
  const perm = PERMUTATION[bigEndian.length]![order];
  const wire = Buffer.from(perm.map((i) => bigEndian[i]!));
  const words: number[] = [];
  for (let i = 0; i < wire.length; i += 2) words.push(wire.readUInt16BE(i));
  return words;
}

function be(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return b;
}

interface Scalar {
  type: string;
  value: TagValue;
  bytes: Buffer;
}

const SCALARS: Scalar[] = [
  { type: 'int16', value: -12345, bytes: be(2, (b) => b.writeInt16BE(-12345)) },
  { type: 'uint16', value: 54321, bytes: be(2, (b) => b.writeUInt16BE(54321)) },
  { type: 'int32', value: -123456789, bytes: be(4, (b) => b.writeInt32BE(-123456789)) },
  { type: 'uint32', value: 3456789012, bytes: be(4, (b) => b.writeUInt32BE(3456789012)) },
  // A float32 reads as the shortest decimal that is the same float32, not its float64 widening
  // (-1234.5670166015625).
  { type: 'float32', value: -1234.567, bytes: be(4, (b) => b.writeFloatBE(-1234.567)) },
  { type: 'float32', value: 200.11174, bytes: be(4, (b) => b.writeFloatBE(200.1117401123047)) },
  { type: 'float64', value: Math.PI, bytes: be(8, (b) => b.writeDoubleBE(Math.PI)) },
  {
    type: 'int64',
    value: '-1234567890123456789',
    bytes: be(8, (b) => b.writeBigInt64BE(-1234567890123456789n)),
  },
  { type: 'int64', value: -42, bytes: be(8, (b) => b.writeBigInt64BE(-42n)) },
  {
    type: 'uint64',
    value: '18000000000000000000',
    bytes: be(8, (b) => b.writeBigUInt64BE(18000000000000000000n)),
  },
];

/** Every scalar type in every byte order, then strings, bits, arrays and scaling, from `base` up. */
export function typeCases(base = 1000): TypeCase[] {
  const cases: TypeCase[] = [];
  let address = base;
  const add = (
    tag: { name: string; type: string; [key: string]: unknown },
    expected: TagValue,
    words: number[],
  ) => {
    cases.push({
      tag: modbusTagConfig({ pollMs: 200, writable: false, address: `hr:${address}`, ...tag }),
      expected,
      words,
      address,
    });
    address += words.length;
  };
  for (const scalar of SCALARS) {
    for (const order of ORDERS) {
      add(
        { name: `${scalar.type}_${String(scalar.value)}_${order}`, type: scalar.type, byteOrder: order },
        scalar.value,
        wordsOf(scalar.bytes, order),
      );
    }
  }
  const ascii = Buffer.alloc(8);
  ascii.write('PRESS-7', 'latin1');
  add(
    { name: 'string_ascii', type: 'string', length: 4 },
    'PRESS-7',
    wordsOf(ascii.subarray(0, 4), 'ABCD').concat(wordsOf(ascii.subarray(4), 'ABCD')),
  );
  const swapped = Buffer.from(ascii);
  swapped.swap16();
  add(
    { name: 'string_swapped', type: 'string', length: 4, swapBytes: true },
    'PRESS-7',
    [0, 2, 4, 6].map((i) => swapped.readUInt16BE(i)),
  );
  const utf8 = Buffer.alloc(8);
  utf8.write('Grüße', 'utf8');
  add(
    { name: 'string_utf8', type: 'string', length: 4, encoding: 'utf8' },
    'Grüße',
    [0, 2, 4, 6].map((i) => utf8.readUInt16BE(i)),
  );
  add({ name: 'int16_array', type: 'int16', count: 3 }, [-1, 0, 32767], [0xffff, 0, 0x7fff]);
  const floats = Buffer.alloc(8);
  floats.writeFloatBE(1.5, 0);
  floats.writeFloatBE(-2.25, 4);
  add(
    { name: 'float32_array_CDAB', type: 'float32', count: 2, byteOrder: 'CDAB' },
    [1.5, -2.25],
    [...wordsOf(floats.subarray(0, 4), 'CDAB'), ...wordsOf(floats.subarray(4), 'CDAB')],
  );
  add({ name: 'uint16_scaled', type: 'uint16', scale: 0.1, offset: -10 }, 113.4, [1234]);
  const scaledFloat = Buffer.alloc(4);
  scaledFloat.writeFloatBE(200.11174);
  add({ name: 'float32_scaled', type: 'float32', scale: 0.1 }, 20.011174, wordsOf(scaledFloat, 'ABCD'));
  // Bits of one register 0b1000_0000_0000_1000: bit 3 and bit 15 set, bit 4 clear.
  cases.push({
    tag: modbusTagConfig({
      name: 'bit3',
      address: `hr:${address}.3`,
      type: 'bool',
      pollMs: 200,
      writable: false,
    }),
    expected: true,
    words: [0x8008],
    address,
  });
  cases.push({
    tag: modbusTagConfig({
      name: 'bit4',
      address: `hr:${address}.4`,
      type: 'bool',
      pollMs: 200,
      writable: false,
    }),
    expected: false,
    words: [0x8008],
    address,
  });
  cases.push({
    tag: modbusTagConfig({
      name: 'bit15',
      address: `hr:${address}.15`,
      type: 'bool',
      pollMs: 200,
      writable: false,
    }),
    expected: true,
    words: [0x8008],
    address,
  });
  return cases;
}

/** The register map {address: word} of a set of cases. */
export function registerMap(cases: readonly TypeCase[]): Record<number, number> {
  const map: Record<number, number> = {};
  for (const c of cases) c.words.forEach((w, i) => (map[c.address + i] = w));
  return map;
}
