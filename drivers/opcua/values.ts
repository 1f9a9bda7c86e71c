// OPC UA values as JSON tag values: 64-bit integers exact (strings beyond 2^53), ByteString as base64,
// DateTime as ISO 8601, LocalizedText as its text, structures as the JSON node-opcua decodes them to.
import type { JsonValue, TagSample, TagValue } from '../types.js';
import { shortestFloat32 } from '../float32.js';
import { BuiltIn } from './datatypes.js';
import { qualityOf, type StatusLike } from './quality.js';

/** The parts of node-opcua's Variant and DataValue this module reads (structural: no import). */
export interface VariantLike {
  dataType: number;
  arrayType: number;
  value: unknown;
}
export interface DataValueLike {
  value: VariantLike;
  statusCode: StatusLike;
  sourceTimestamp?: Date | null;
  serverTimestamp?: Date | null;
}

const TWO_POW_32 = 2n ** 32n;

/** node-opcua's [high, low] UInt32 pair as an exact JSON value: a number up to 2^53, a string beyond. */
export function int64ToJson(pair: unknown, signed: boolean): number | string {
  if (!Array.isArray(pair) || pair.length !== 2)
    throw new Error(`not a 64-bit [high, low] pair: ${String(pair)}`);
  const raw = BigInt(pair[0] as number) * TWO_POW_32 + BigInt(pair[1] as number);
  const big = signed ? BigInt.asIntN(64, raw) : BigInt.asUintN(64, raw);
  return bigToJson(big);
}

export function bigToJson(big: bigint): number | string {
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(big)
    : big.toString();
}

/** The shortest decimal that reads back as the same float32 (21.5, 0.1 rather than 0.10000000149). */
export const float32ToJson = shortestFloat32;

class NonFiniteError extends Error {}

function scalarToJson(dataType: number, v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  switch (dataType) {
    case BuiltIn.Int64:
      return int64ToJson(v, true);
    case BuiltIn.UInt64:
      return int64ToJson(v, false);
    case BuiltIn.Float:
    case BuiltIn.Double: {
      const n = v as number;
      if (!Number.isFinite(n)) throw new NonFiniteError(String(n));
      return dataType === BuiltIn.Float ? float32ToJson(n) : n;
    }
    case BuiltIn.DateTime:
      return v instanceof Date ? (Number.isNaN(v.getTime()) ? null : v.toISOString()) : String(v);
    case BuiltIn.ByteString:
      return Buffer.isBuffer(v) ? v.toString('base64') : null;
    case BuiltIn.LocalizedText:
      return (v as { text?: string | null }).text ?? '';
    case BuiltIn.Boolean:
    case BuiltIn.SByte:
    case BuiltIn.Byte:
    case BuiltIn.Int16:
    case BuiltIn.UInt16:
    case BuiltIn.Int32:
    case BuiltIn.UInt32:
    case BuiltIn.String:
    case BuiltIn.Guid:
    case BuiltIn.XmlElement:
      return v as JsonValue;
    case BuiltIn.StatusCode:
      return (v as StatusLike).name;
    case BuiltIn.NodeId:
    case BuiltIn.ExpandedNodeId:
    case BuiltIn.QualifiedName:
      return (v as { toString(): string }).toString();
    case BuiltIn.Variant: {
      const inner = v as VariantLike;
      return variantToJson(inner);
    }
    default:
      return structureToJson(v);
  }
}

/** Structures (ExtensionObjects and the like) through their own toJSON, with Buffers and Dates made JSON. */
function structureToJson(v: unknown): JsonValue {
  const json: unknown = JSON.parse(
    JSON.stringify(v, (_key, value: unknown) => {
      if (typeof value === 'bigint') return bigToJson(value);
      if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
        return Buffer.from((value as { data: number[] }).data).toString('base64');
      }
      return value;
    }) ?? 'null',
  );
  return json as JsonValue;
}

export function variantToJson(variant: VariantLike): JsonValue {
  if (variant.arrayType === 0) return scalarToJson(variant.dataType, variant.value);
  // Arrays and matrices: node-opcua gives typed arrays or plain arrays; matrices arrive flattened.
  const items = variant.value as ArrayLike<unknown> | null;
  if (!items) return [];
  const out: JsonValue[] = new Array<JsonValue>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = scalarToJson(variant.dataType, items[i]);
  return out;
}

function timestampOf(dv: DataValueLike, now: number): number {
  const t = dv.sourceTimestamp ?? dv.serverTimestamp;
  const ms = t ? t.getTime() : NaN;
  return Number.isFinite(ms) && ms > 0 ? ms : now;
}

/** One DataValue as a TagSample: value, source time, and the status code as quality and reason. */
export function toSample(tag: string, dv: DataValueLike, now = Date.now()): TagSample {
  const ts = timestampOf(dv, now);
  const quality = qualityOf(dv.statusCode);
  let value: JsonValue;
  try {
    value = variantToJson(dv.value);
  } catch (err) {
    if (err instanceof NonFiniteError)
      return { tag, ts, quality: 'bad', value: null, reason: `non-finite value ${err.message}` };
    return { tag, ts, quality: 'bad', value: null, reason: `undecodable value: ${(err as Error).message}` };
  }
  if (quality === 'bad')
    return { tag, ts, quality, value: value as TagValue | null, reason: dv.statusCode.name };
  if (value === null)
    return {
      tag,
      ts,
      quality: 'bad',
      value: null,
      reason: quality === 'good' ? 'no value' : dv.statusCode.name,
    };
  if (quality === 'uncertain')
    return { tag, ts, quality, value: value as TagValue, reason: dv.statusCode.name };
  return { tag, ts, quality, value: value as TagValue };
}
