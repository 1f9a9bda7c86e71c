// Tags as Sparkplug metrics: the datatype a tag's type maps to, its birth properties, and a
// sample's value in that datatype.
import type { Quality, TagSample, TagValue } from '../../drivers/types.js';
import type { MappedTag } from '../config/types.js';
import { DataType, type DataTypeId, type PropertyValue, type SparkplugValue } from './payload.js';

/** Quality as Sparkplug hosts read it (the `Quality` property, OPC quality codes, as Ignition does). */
export const QUALITY_CODE: Record<Quality, number> = { good: 192, uncertain: 64, bad: 0 };

const BY_TAG_TYPE: Record<string, DataTypeId> = {
  // Modbus
  bool: DataType.Boolean,
  int16: DataType.Int16,
  uint16: DataType.UInt16,
  int32: DataType.Int32,
  uint32: DataType.UInt32,
  int64: DataType.Int64,
  uint64: DataType.UInt64,
  float32: DataType.Float,
  float64: DataType.Double,
  string: DataType.String,
  // OPC UA
  Boolean: DataType.Boolean,
  SByte: DataType.Int8,
  Byte: DataType.UInt8,
  Int16: DataType.Int16,
  UInt16: DataType.UInt16,
  Int32: DataType.Int32,
  UInt32: DataType.UInt32,
  Int64: DataType.Int64,
  UInt64: DataType.UInt64,
  Float: DataType.Float,
  Double: DataType.Double,
  String: DataType.String,
  LocalizedText: DataType.String,
  Guid: DataType.String,
  DateTime: DataType.DateTime,
  ByteString: DataType.Bytes,
};

const INTEGER_TYPES = new Set<DataTypeId>([
  DataType.Int8,
  DataType.Int16,
  DataType.Int32,
  DataType.Int64,
  DataType.UInt8,
  DataType.UInt16,
  DataType.UInt32,
  DataType.UInt64,
]);

/**
 * The metric datatype of a tag. A scaled integer (`scale`/`offset` that are not whole) carries
 * engineering values with decimals: Double. Arrays and structures travel as JSON text (String).
 * OPC UA `auto` takes the type of the value at hand.
 */
export function metricType(tag: MappedTag, sample?: TagSample): DataTypeId {
  if (tag.count !== undefined && tag.count > 1) return DataType.String;
  const declared = BY_TAG_TYPE[tag.type];
  if (declared === undefined) return inferred(sample?.value ?? null);
  const scaled = !Number.isInteger(tag.scale ?? 1) || !Number.isInteger(tag.offset ?? 0);
  if (scaled && INTEGER_TYPES.has(declared)) return DataType.Double;
  return declared;
}

function inferred(value: TagValue | null): DataTypeId {
  if (typeof value === 'boolean') return DataType.Boolean;
  if (typeof value === 'number') return DataType.Double;
  return DataType.String;
}

/** The value of a sample in a metric of `type`; null for a bad sample without a value. */
export function metricValue(type: DataTypeId, value: TagValue | null): SparkplugValue {
  if (value === null) return null;
  switch (type) {
    case DataType.Boolean:
      return typeof value === 'boolean' ? value : Boolean(value);
    case DataType.String:
    case DataType.Text:
      return typeof value === 'string' ? value : JSON.stringify(value);
    case DataType.Int64:
    case DataType.UInt64:
      // 64-bit integers beyond 2^53 arrive as decimal strings.
      return typeof value === 'string' ? BigInt(value) : typeof value === 'number' ? Math.trunc(value) : null;
    case DataType.DateTime: {
      const ms = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isNaN(ms) ? null : ms;
    }
    case DataType.Bytes:
      return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : null;
    default:
      return typeof value === 'number' ? value : Number(value);
  }
}

/** A metric value received in a DCMD, as the JSON value a command carries. */
export function commandValue(value: SparkplugValue): TagValue | null {
  if (value === null) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/** The birth properties of a tag: unit, engineering range, writable, and the sample's quality. */
export function birthProperties(tag: MappedTag, quality: Quality | undefined): Record<string, PropertyValue> {
  const properties: Record<string, PropertyValue> = {};
  if (tag.unit !== undefined) properties.engUnit = { type: DataType.String, value: tag.unit };
  if (tag.min !== undefined) properties.engLow = { type: DataType.Double, value: tag.min };
  if (tag.max !== undefined) properties.engHigh = { type: DataType.Double, value: tag.max };
  properties.writable = { type: DataType.Boolean, value: tag.writable };
  properties.readOnly = { type: DataType.Boolean, value: !tag.writable };
  properties.Quality = { type: DataType.Int32, value: QUALITY_CODE[quality ?? 'bad'] };
  return properties;
}
