// The Sparkplug B payload (Eclipse Sparkplug 3.0, the `Payload` protobuf message), encoded with
// protobufjs from the schema below. protobufjs is the protobuf library for JavaScript that Eclipse
// Tahu's own payload package builds on; we take it directly, at its current major, with only the
// messages an edge node sends and reads (no templates, data sets or extensions), instead of Tahu's
// package, which pins protobufjs 6 and `long` 4. Tests decode what we send with Tahu's package.
import { createRequire } from 'node:module';
import type protobufModule from 'protobufjs';

type Protobuf = typeof protobufModule;

/** Sparkplug B data type ids (the spec's DataType enum). */
export const DataType = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  Bytes: 17,
} as const;
export type DataTypeName = keyof typeof DataType;
export type DataTypeId = (typeof DataType)[DataTypeName];

type Field = { type: string; id: number; rule?: 'repeated' };

/** A proto2 message: explicit presence, so a seq or value of 0 is sent. */
const proto2 = (fields: Record<string, Field>) => ({ edition: 'proto2', fields });

/** The typed value fields a PropertyValue and a Metric both have, numbered from `first`. */
const valueFields = (first: number): Record<string, Field> => ({
  int_value: { type: 'uint32', id: first },
  long_value: { type: 'uint64', id: first + 1 },
  float_value: { type: 'float', id: first + 2 },
  double_value: { type: 'double', id: first + 3 },
  boolean_value: { type: 'bool', id: first + 4 },
  string_value: { type: 'string', id: first + 5 },
});

const descriptor = {
  nested: {
    PropertyValue: proto2({
      type: { type: 'uint32', id: 1 },
      is_null: { type: 'bool', id: 2 },
      ...valueFields(3),
    }),
    PropertySet: proto2({
      keys: { rule: 'repeated', type: 'string', id: 1 },
      values: { rule: 'repeated', type: 'PropertyValue', id: 2 },
    }),
    Metric: proto2({
      name: { type: 'string', id: 1 },
      alias: { type: 'uint64', id: 2 },
      timestamp: { type: 'uint64', id: 3 },
      datatype: { type: 'uint32', id: 4 },
      is_historical: { type: 'bool', id: 5 },
      is_transient: { type: 'bool', id: 6 },
      is_null: { type: 'bool', id: 7 },
      properties: { type: 'PropertySet', id: 9 },
      ...valueFields(10),
      bytes_value: { type: 'bytes', id: 16 },
    }),
    Payload: proto2({
      timestamp: { type: 'uint64', id: 1 },
      metrics: { rule: 'repeated', type: 'Metric', id: 2 },
      seq: { type: 'uint64', id: 3 },
      uuid: { type: 'string', id: 4 },
      body: { type: 'bytes', id: 5 },
    }),
  },
};

// protobufjs and the schema are loaded on first use: a gateway without Sparkplug never pays the
// ~50 ms of their import at start.
let loaded: { protobuf: Protobuf; Payload: protobufModule.Type } | undefined;
function schema(): { protobuf: Protobuf; Payload: protobufModule.Type } {
  if (!loaded) {
    const protobuf = createRequire(import.meta.url)('protobufjs') as Protobuf;
    loaded = { protobuf, Payload: protobuf.Root.fromJSON(descriptor).lookupType('Payload') };
  }
  return loaded;
}

/** A metric or property value as the gateway holds it; 64-bit integers beyond 2^53 as bigint. */
export type SparkplugValue = number | bigint | boolean | string | Uint8Array | null;

export interface PropertyValue {
  type: DataTypeId;
  value: SparkplugValue;
}

export interface Metric {
  name?: string;
  alias?: number;
  /** Epoch ms. */
  timestamp?: number;
  datatype?: DataTypeId;
  value: SparkplugValue;
  isHistorical?: boolean;
  isTransient?: boolean;
  properties?: Record<string, PropertyValue>;
}

export interface Payload {
  /** Epoch ms. */
  timestamp: number;
  seq?: number;
  metrics: Metric[];
}

type Wire = Record<string, unknown>;

/** Where a value of this type goes in a Metric or PropertyValue (int_value, long_value...). */
function valueField(type: DataTypeId): string {
  switch (type) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32:
      return 'int_value';
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime:
      return 'long_value';
    case DataType.Float:
      return 'float_value';
    case DataType.Double:
      return 'double_value';
    case DataType.Boolean:
      return 'boolean_value';
    case DataType.Bytes:
      return 'bytes_value';
    default:
      return 'string_value';
  }
}

/** A value in its wire form: signed integers travel as their unsigned bit pattern (spec 6.4.16). */
function toWire(type: DataTypeId, value: Exclude<SparkplugValue, null>): unknown {
  switch (type) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
      return Number(value) >>> 0;
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime:
      return longFromBigInt(BigInt.asUintN(64, BigInt(value as number | bigint)));
    default:
      return value;
  }
}

function longFromBigInt(n: bigint): protobufModule.Long {
  const low = Number(n & 0xffffffffn) | 0;
  const high = Number((n >> 32n) & 0xffffffffn) | 0;
  return new (schema().protobuf.util.Long)(low, high, true);
}

function propertySet(properties: Record<string, PropertyValue>): Wire {
  const keys = Object.keys(properties);
  return {
    keys,
    values: keys.map((k) => {
      const p = properties[k]!;
      if (p.value === null) return { type: p.type, is_null: true };
      return { type: p.type, [valueField(p.type)]: toWire(p.type, p.value) };
    }),
  };
}

function metricToWire(m: Metric): Wire {
  const wire: Wire = {};
  if (m.name !== undefined) wire.name = m.name;
  if (m.alias !== undefined) wire.alias = m.alias;
  if (m.timestamp !== undefined) wire.timestamp = m.timestamp;
  if (m.datatype !== undefined) wire.datatype = m.datatype;
  if (m.isHistorical) wire.is_historical = true;
  if (m.isTransient) wire.is_transient = true;
  if (m.properties) wire.properties = propertySet(m.properties);
  if (m.value === null) wire.is_null = true;
  else if (m.datatype !== undefined) wire[valueField(m.datatype)] = toWire(m.datatype, m.value);
  return wire;
}

export function encodePayload(payload: Payload): Buffer {
  const wire: Wire = { timestamp: payload.timestamp, metrics: payload.metrics.map(metricToWire) };
  if (payload.seq !== undefined) wire.seq = payload.seq;
  const { Payload } = schema();
  return Buffer.from(Payload.encode(Payload.fromObject(wire)).finish());
}

/** A received metric (NCMD/DCMD): name or alias, and the value of whichever field is set. */
export interface ReceivedMetric {
  name?: string;
  alias?: number;
  datatype?: number;
  value: SparkplugValue;
}

export function decodePayload(bytes: Uint8Array): {
  timestamp?: number;
  seq?: number;
  metrics: ReceivedMetric[];
} {
  const { Payload } = schema();
  const object = Payload.toObject(Payload.decode(bytes), { longs: String, bytes: Buffer }) as {
    timestamp?: string;
    seq?: string;
    metrics?: Record<string, unknown>[];
  };
  const metrics = (object.metrics ?? []).map((m): ReceivedMetric => {
    const datatype = m.datatype as number | undefined;
    const metric: ReceivedMetric = { value: receivedValue(m, datatype) };
    if (typeof m.name === 'string' && m.name !== '') metric.name = m.name;
    if (m.alias !== undefined) metric.alias = Number(m.alias);
    if (datatype !== undefined) metric.datatype = datatype;
    return metric;
  });
  const out: { timestamp?: number; seq?: number; metrics: ReceivedMetric[] } = { metrics };
  if (object.timestamp !== undefined) out.timestamp = Number(object.timestamp);
  if (object.seq !== undefined) out.seq = Number(object.seq);
  return out;
}

function receivedValue(m: Record<string, unknown>, datatype: number | undefined): SparkplugValue {
  if (m.is_null === true) return null;
  if (m.boolean_value !== undefined) return m.boolean_value as boolean;
  if (m.string_value !== undefined) return m.string_value as string;
  if (m.double_value !== undefined) return m.double_value as number;
  if (m.float_value !== undefined) return m.float_value as number;
  if (m.bytes_value !== undefined) return new Uint8Array(m.bytes_value as Buffer);
  if (m.int_value !== undefined) {
    const n = m.int_value as number;
    // Signed types arrive as their unsigned bit pattern.
    if (datatype === DataType.Int8) return (n << 24) >> 24;
    if (datatype === DataType.Int16) return (n << 16) >> 16;
    if (datatype === DataType.Int32) return n | 0;
    return n;
  }
  if (m.long_value !== undefined) {
    const n = BigInt(m.long_value as string);
    const v = datatype === DataType.Int64 ? BigInt.asIntN(64, n) : n;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return null;
}
