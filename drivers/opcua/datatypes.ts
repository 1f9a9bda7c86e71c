// OPC UA built-in DataType ids (Part 6, 5.1.2): fixed by the standard, so no node-opcua import is needed.
import { INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, type IntegerRange } from '../integers.js';
import type { OpcuaTagType } from './config.js';

export const BuiltIn = {
  Null: 0,
  Boolean: 1,
  SByte: 2,
  Byte: 3,
  Int16: 4,
  UInt16: 5,
  Int32: 6,
  UInt32: 7,
  Int64: 8,
  UInt64: 9,
  Float: 10,
  Double: 11,
  String: 12,
  DateTime: 13,
  Guid: 14,
  ByteString: 15,
  XmlElement: 16,
  NodeId: 17,
  ExpandedNodeId: 18,
  StatusCode: 19,
  QualifiedName: 20,
  LocalizedText: 21,
  ExtensionObject: 22,
  DataValue: 23,
  Variant: 24,
  DiagnosticInfo: 25,
} as const;

export type BuiltInName = keyof typeof BuiltIn;

const NAMES = new Map<number, BuiltInName>(
  (Object.entries(BuiltIn) as [BuiltInName, number][]).map(([name, id]) => [id, name]),
);

export function builtInName(id: number): BuiltInName | undefined {
  return NAMES.get(id);
}

/** Integer ranges of the integer types; 64-bit ones as bigint so no precision is lost. */
export const INTEGER_RANGES: Partial<Record<BuiltInName, IntegerRange>> = {
  SByte: INT8,
  Byte: UINT8,
  Int16: INT16,
  UInt16: UINT16,
  Int32: INT32,
  UInt32: UINT32,
  Int64: INT64,
  UInt64: UINT64,
};

/** A tag type the user declared, as a built-in id; undefined for `auto`. */
export function declaredBuiltIn(type: OpcuaTagType): number | undefined {
  return type === 'auto' ? undefined : BuiltIn[type];
}
