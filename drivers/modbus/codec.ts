// Tag values to and from Modbus data: registers (2 bytes each, as on the wire) or unpacked bits.
import { encodingProblem } from '../text.js';
import type { TagSample, TagValue } from '../types.js';
import type { ByteOrder } from './config.js';
import { INTEGER_RANGE, reorder, writeRaw, type NumericType } from './datatypes.js';
import type { ResolvedTag } from './tag.js';
import { shortestFloat32 } from '../float32.js';

/** What one read request returned: register bytes (FC 3/4) or one 0/1 byte per bit (FC 1/2). */
export interface ReadBlock {
  start: number;
  data: Uint8Array;
  kind: 'registers' | 'bits';
}

const MAX_FLOAT32 = 3.4028234663852886e38;

/** A tag's sample from a block that covers it: good with its value, or bad saying why it cannot be decoded. */
export function sampleOf(tag: ResolvedTag, block: ReadBlock, ts: number): TagSample {
  try {
    return { tag: tag.name, ts, quality: 'good', value: decodeTag(tag, block) };
  } catch (err) {
    return {
      tag: tag.name,
      ts,
      quality: 'bad',
      value: null,
      reason: err instanceof Error ? err.message : String(err),
    };
  }
}

/** Decodes a tag from a block that covers it. Throws only for values JSON cannot carry (NaN). */
export function decodeTag(tag: ResolvedTag, block: ReadBlock): TagValue {
  if (tag.count === undefined) return decodeElement(tag, block, tag.address);
  const values: TagValue[] = [];
  for (let i = 0; i < tag.count; i++) values.push(decodeElement(tag, block, tag.address + i * tag.width));
  return values;
}

/**
 * The bytes of one element, reordered to big-endian, land here: decoding allocates nothing but
 * the sample itself (no typed-array view or DataView per tag), which matters at 100k tags/s.
 */
const scratch = Buffer.alloc(8);

function load(src: Uint8Array, at: number, bytes: number, order: ByteOrder): void {
  const words = bytes >> 1;
  const swapWords = order === 'CDAB' || order === 'DCBA';
  const swapBytes = order === 'BADC' || order === 'DCBA';
  for (let w = 0; w < words; w++) {
    const from = at + (swapWords ? words - 1 - w : w) * 2;
    scratch[w * 2] = src[swapBytes ? from + 1 : from] as number;
    scratch[w * 2 + 1] = src[swapBytes ? from : from + 1] as number;
  }
}

function decodeElement(tag: ResolvedTag, block: ReadBlock, address: number): TagValue {
  const at = address - block.start;
  if (block.kind === 'bits') return block.data[at] === 1;
  const offset = at * 2;
  if (tag.type === 'bool') {
    const word = ((block.data[offset] as number) << 8) | (block.data[offset + 1] as number);
    return tag.bit === undefined ? word !== 0 : ((word >> tag.bit) & 1) === 1;
  }
  if (tag.type === 'string') return decodeString(tag, block.data.subarray(offset, offset + tag.width * 2));
  load(block.data, offset, tag.width * 2, tag.byteOrder);
  switch (tag.type) {
    case 'int16':
      return scaled(tag, scratch.readInt16BE(0));
    case 'uint16':
      return scaled(tag, scratch.readUInt16BE(0));
    case 'int32':
      return scaled(tag, scratch.readInt32BE(0));
    case 'uint32':
      return scaled(tag, scratch.readUInt32BE(0));
    case 'float32':
      return scaled(tag, shortestFloat32(finite(scratch.readFloatBE(0))));
    case 'float64':
      return scaled(tag, finite(scratch.readDoubleBE(0)));
    case 'int64':
      return big(tag, scratch.readBigInt64BE(0));
    case 'uint64':
      return big(tag, scratch.readBigUInt64BE(0));
  }
}

function finite(value: number): number {
  if (!Number.isFinite(value)) throw new Error(`value is ${value}, not a finite number`);
  return value;
}

function scaled(tag: ResolvedTag, raw: number): number {
  if (tag.scale === undefined && tag.offset === undefined) return raw;
  // 15 significant digits drop binary noise (215 * 0.1 is 21.5, not 21.500000000000004).
  return Number((raw * (tag.scale ?? 1) + (tag.offset ?? 0)).toPrecision(15));
}

/** 64-bit integers stay exact: a number while safe, a decimal string beyond 2^53. */
function big(tag: ResolvedTag, raw: bigint): number | string {
  if (tag.scale !== undefined || tag.offset !== undefined) return scaled(tag, Number(raw));
  return raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(raw)
    : raw.toString();
}

function decodeString(tag: ResolvedTag, bytes: Uint8Array): string {
  const ordered = tag.swapBytes ? reorder(bytes, 'BADC') : bytes;
  let end = ordered.length;
  while (end > 0 && ordered[end - 1] === 0) end--;
  return Buffer.from(ordered.buffer, ordered.byteOffset, end).toString(
    tag.encoding === 'utf8' ? 'utf8' : 'latin1',
  );
}

/** What a write puts on the wire: register bytes, or bits. */
export type Encoded = { kind: 'registers'; data: Uint8Array } | { kind: 'bits'; data: boolean[] };

/** Encodes an engineering value (inverse scaling, rounding, raw range check) or says why it cannot. */
export function encodeTag(tag: ResolvedTag, value: TagValue): Encoded | { error: string } {
  const elements: TagValue[] = [];
  if (tag.count !== undefined) {
    if (!Array.isArray(value) || value.length !== tag.count) {
      return { error: `${tag.name} takes an array of ${tag.count} ${tag.type} values` };
    }
    elements.push(...(value as TagValue[]));
  } else {
    elements.push(value);
  }
  if (tag.table === 'coil') {
    const bits: boolean[] = [];
    for (const element of elements) {
      const bit = toBool(element);
      if (bit === undefined)
        return { error: `${tag.name} takes true or false, not ${JSON.stringify(element)}` };
      bits.push(bit);
    }
    return { kind: 'bits', data: bits };
  }
  const out = new Uint8Array(tag.span * 2);
  for (let i = 0; i < elements.length; i++) {
    const encoded = encodeElement(tag, elements[i] as TagValue);
    if ('error' in encoded) return encoded;
    out.set(encoded, i * tag.width * 2);
  }
  return { kind: 'registers', data: out };
}

function toBool(value: TagValue): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  return undefined;
}

function encodeElement(tag: ResolvedTag, value: TagValue): Uint8Array | { error: string } {
  const bytes = new Uint8Array(tag.width * 2);
  const view = new DataView(bytes.buffer);
  if (tag.type === 'bool') {
    // A register bit is merged into the current register by the driver (read-modify-write).
    const bit = toBool(value);
    if (bit === undefined) return { error: `${tag.name} takes true or false, not ${JSON.stringify(value)}` };
    view.setUint16(0, bit ? 1 : 0);
    return bytes;
  }
  if (tag.type === 'string') {
    if (typeof value !== 'string')
      return { error: `${tag.name} takes a string, not ${JSON.stringify(value)}` };
    const problem = encodingProblem(value, tag.encoding);
    if (problem !== undefined) return { error: `${JSON.stringify(value)} for ${tag.name}: ${problem}` };
    const text = Buffer.from(value, tag.encoding === 'utf8' ? 'utf8' : 'latin1');
    if (text.length > bytes.length) {
      return { error: `"${value}" takes ${text.length} bytes; ${tag.name} holds ${bytes.length}` };
    }
    bytes.set(text);
    return tag.swapBytes ? reorder(bytes, 'BADC') : bytes;
  }
  const raw = rawNumber(tag, tag.type, value);
  if (typeof raw === 'object' && 'error' in raw) return raw;
  writeRaw(view, tag.type, raw);
  return reorder(bytes, tag.byteOrder);
}

/** Engineering value to raw: number for floats, bigint for integers (range checked). */
function rawNumber(
  tag: ResolvedTag,
  type: NumericType,
  value: TagValue,
): number | bigint | { error: string } {
  const scaling = tag.scale !== undefined || tag.offset !== undefined;
  let engineering: number | bigint;
  if (typeof value === 'number') engineering = value;
  else if (
    typeof value === 'string' &&
    /^-?\d+$/.test(value) &&
    (type === 'int64' || type === 'uint64') &&
    !scaling
  ) {
    engineering = BigInt(value);
  } else return { error: `${tag.name} takes a number, not ${JSON.stringify(value)}` };
  if (typeof engineering === 'number' && !Number.isFinite(engineering)) {
    return { error: `${tag.name} takes a finite number` };
  }
  if (type === 'float32' || type === 'float64') {
    const raw = scaling ? (Number(engineering) - (tag.offset ?? 0)) / (tag.scale ?? 1) : Number(engineering);
    if (type === 'float32' && Math.abs(raw) > MAX_FLOAT32)
      return { error: `value ${value} does not fit a float32` };
    return raw;
  }
  let raw: bigint;
  if (typeof engineering === 'bigint') raw = engineering;
  else {
    const step = scaling ? toRawStep(tag, engineering) : { raw: engineering };
    if ('error' in step) return step;
    if (!Number.isSafeInteger(step.raw)) return { error: `value ${value} is too large for ${type}` };
    raw = BigInt(step.raw);
  }
  const [lo, hi] = INTEGER_RANGE[type];
  if (raw < lo || raw > hi) {
    const shown = scaling ? `value ${String(value)} (raw ${raw})` : `value ${String(value)}`;
    return { error: `${shown} is outside the ${type} range ${lo}..${hi}` };
  }
  return raw;
}

/** Steps closer than this (in raw units) to a whole raw value are floating-point noise, not intent. */
export const RAW_STEP_TOLERANCE = 0.001;

/** Rounds half away from zero (Math.round rounds -2.5 to -2). */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * The raw integer of a scaled engineering value: raw = (value - offset) / scale, which must land
 * on a whole raw step within RAW_STEP_TOLERANCE (80.3 / 0.1 is 802.9999999999999, and an HMI's
 * float32 80.3 is 80.30000305...: both are raw 803). A value between two steps is refused with the
 * two nearest values the tag can hold, rather than silently rounded to one of them.
 */
function toRawStep(tag: ResolvedTag, engineering: number): { raw: number } | { error: string } {
  const scale = tag.scale ?? 1;
  const offset = tag.offset ?? 0;
  const exact = (engineering - offset) / scale;
  const raw = roundHalfAway(exact);
  if (Math.abs(exact - raw) <= RAW_STEP_TOLERANCE) return { raw };
  const engineeringOf = (r: number) => Number((r * scale + offset).toPrecision(15));
  const [below, above] = [engineeringOf(Math.floor(exact)), engineeringOf(Math.ceil(exact))].sort(
    (a, b) => a - b,
  );
  return {
    error:
      `value ${engineering} is between two steps of ${tag.name} (scale ${scale}${offset ? `, offset ${offset}` : ''}: ` +
      `raw ${Number(exact.toPrecision(15))} is not a whole number): the nearest values it can hold are ${below} and ${above}`,
  };
}
