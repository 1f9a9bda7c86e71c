// A command's JSON value coerced to the node's DataType, exactly or not at all: integers in range,
// 64-bit ones from strings, base64 ByteStrings, ISO dates. Errors say what was expected.
import { encodingProblem } from '../text.js';
import type { TagValue } from '../types.js';
import { BuiltIn, builtInName, INTEGER_RANGES } from './datatypes.js';

/** What node-opcua's Variant constructor takes. */
export interface VariantInit {
  dataType: number;
  arrayType: number;
  value: unknown;
}

export type Coerced = { ok: true; variant: VariantInit } | { ok: false; error: string };

const TWO_POW_32 = 2n ** 32n;

function toBigInt(v: TagValue): bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  return undefined;
}

/** OPC UA strings are UTF-8 on the wire: text that UTF-8 cannot carry is refused, not mangled. */
function utf8(text: string): string | undefined {
  const problem = encodingProblem(text, 'utf8');
  return problem === undefined ? undefined : `${JSON.stringify(text)}: ${problem}`;
}

/** One element, or an error message. Numbers stay within the type's range; nothing is rounded. */
function coerceScalar(dataType: number, v: TagValue): { value: unknown } | string {
  const name = builtInName(dataType) ?? `DataType ${dataType}`;
  const range = INTEGER_RANGES[name as keyof typeof INTEGER_RANGES];
  if (range) {
    const big = toBigInt(v);
    if (big === undefined) return `expected an integer for ${name}, got ${JSON.stringify(v)}`;
    if (big < range[0] || big > range[1])
      return `${String(v)} out of range for ${name} (${range[0]}..${range[1]})`;
    if (dataType === BuiltIn.Int64 || dataType === BuiltIn.UInt64) {
      const u = BigInt.asUintN(64, big);
      return { value: [Number(u / TWO_POW_32), Number(u % TWO_POW_32)] };
    }
    return { value: Number(big) };
  }
  switch (dataType) {
    case BuiltIn.Boolean:
      return typeof v === 'boolean'
        ? { value: v }
        : `expected true or false for Boolean, got ${JSON.stringify(v)}`;
    case BuiltIn.Float:
    case BuiltIn.Double:
      if (typeof v !== 'number' || !Number.isFinite(v))
        return `expected a number for ${name}, got ${JSON.stringify(v)}`;
      if (dataType === BuiltIn.Float && Math.abs(v) > 3.4028234663852886e38)
        return `${v} out of range for Float`;
      return { value: v };
    case BuiltIn.String:
    case BuiltIn.XmlElement:
      if (typeof v !== 'string') return `expected a string for ${name}, got ${JSON.stringify(v)}`;
      return utf8(v) ?? { value: v };
    case BuiltIn.DateTime: {
      const d = typeof v === 'number' ? new Date(v) : typeof v === 'string' ? new Date(v) : undefined;
      if (!d || Number.isNaN(d.getTime()))
        return `expected an ISO 8601 date or epoch milliseconds for DateTime, got ${JSON.stringify(v)}`;
      return { value: d };
    }
    case BuiltIn.ByteString:
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        return `expected base64 for ByteString, got ${JSON.stringify(v)}`;
      }
      return { value: Buffer.from(v, 'base64') };
    case BuiltIn.LocalizedText:
      if (typeof v === 'string') return utf8(v) ?? { value: { text: v } };
      if (v && typeof v === 'object' && !Array.isArray(v) && typeof v.text === 'string') {
        const locale = typeof v.locale === 'string' ? v.locale : null;
        return (
          utf8(v.text) ?? (locale === null ? undefined : utf8(locale)) ?? { value: { text: v.text, locale } }
        );
      }
      return `expected a string or {"text", "locale"} for LocalizedText, got ${JSON.stringify(v)}`;
    case BuiltIn.Guid:
      return typeof v === 'string' &&
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)
        ? { value: v.toUpperCase() }
        : `expected a GUID string for Guid, got ${JSON.stringify(v)}`;
    default:
      return `writing ${name} values is not supported`;
  }
}

/**
 * Coerces `value` to the node's built-in type; `isArray` from the node's ValueRank (>= 1 or 0/-3 with
 * an array value). Range checks of the tag's min/max are the caller's (they apply to numbers only).
 */
export function coerceToVariant(dataType: number, valueRank: number, value: TagValue): Coerced {
  const wantsArray = valueRank >= 1;
  const mayBeArray = valueRank === 0 || valueRank === -3 || valueRank === -2;
  if (Array.isArray(value)) {
    if (!wantsArray && !mayBeArray) return { ok: false, error: 'expected a single value, got an array' };
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || item === undefined)
        return { ok: false, error: `element ${i}: null is not a value` };
      const c = coerceScalar(dataType, item);
      if (typeof c === 'string') return { ok: false, error: `element ${i}: ${c}` };
      out.push(c.value);
    }
    return { ok: true, variant: { dataType, arrayType: 1, value: out } };
  }
  if (wantsArray) return { ok: false, error: 'expected an array' };
  const c = coerceScalar(dataType, value);
  return typeof c === 'string'
    ? { ok: false, error: c }
    : { ok: true, variant: { dataType, arrayType: 0, value: c.value } };
}
