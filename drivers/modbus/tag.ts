// A mapping tag resolved against its device: parsed address, type, layout and scaling, or the
// list of problems that stop it from being read (the semantic half of `tagwire validate`).
import type { TextEncoding } from '../text.js';
import type { TagConfig, TagProblem } from '../types.js';
import { isBitTable, isWritableTable, parseAddress, type Table } from './address.js';
import type { ByteOrder, ModbusDeviceConfig } from './config.js';
import { isDataType, registersOf, type DataType } from './datatypes.js';

export interface ResolvedTag {
  name: string;
  table: Table;
  /** First wire address. */
  address: number;
  bit?: number;
  type: DataType;
  /** Elements of an array tag; absent for a scalar. */
  count?: number;
  /** Registers (or bits) per element. */
  width: number;
  /** Registers (or bits) the whole tag spans. */
  span: number;
  byteOrder: ByteOrder;
  scale?: number;
  offset?: number;
  encoding: TextEncoding;
  swapBytes: boolean;
  pollMs: number;
  writable: boolean;
}

const BYTE_ORDERS = new Set(['ABCD', 'BADC', 'CDAB', 'DCBA']);

export function resolveTag(tag: TagConfig, device: ModbusDeviceConfig): ResolvedTag | TagProblem[] {
  const problems: TagProblem[] = [];
  const parsed = parseAddress(String(tag.address));
  if ('error' in parsed) problems.push({ pointer: '/address', message: parsed.error });
  if (!isDataType(tag.type)) {
    problems.push({ pointer: '/type', message: `unknown Modbus type "${tag.type}"` });
  }
  if (problems.length > 0 || 'error' in parsed || !isDataType(tag.type)) return problems;

  const type: DataType = tag.type;
  const { table, address, bit } = parsed;
  const bitTable = isBitTable(table);
  if (bitTable && type !== 'bool') {
    problems.push({
      pointer: '/type',
      message: `${table} holds single bits: type must be bool, not ${type}`,
    });
  }
  if (bit !== undefined && bitTable) {
    problems.push({
      pointer: '/address',
      message: `a bit index (.${bit}) applies to registers, not to ${table}`,
    });
  }
  if (bit !== undefined && type !== 'bool') {
    problems.push({ pointer: '/type', message: `a register bit (.${bit}) is a bool, not ${type}` });
  }
  if (bit !== undefined && tag.count !== undefined) {
    problems.push({ pointer: '/count', message: 'a register bit cannot be an array' });
  }
  if (tag.writable && !isWritableTable(table)) {
    problems.push({
      pointer: '/writable',
      message: `${table === 'ir' ? 'input registers' : 'discrete inputs'} are read-only`,
    });
  }
  if (type === 'string' && tag.length === undefined) {
    problems.push({ pointer: '/length', message: 'a string tag needs "length" (registers)' });
  }
  if (type !== 'string' && tag.length !== undefined) {
    problems.push({ pointer: '/length', message: `"length" applies to strings, not ${type}` });
  }
  if ((type === 'bool' || type === 'string') && (tag.scale !== undefined || tag.offset !== undefined)) {
    problems.push({
      pointer: tag.scale !== undefined ? '/scale' : '/offset',
      message: `${type} values cannot be scaled`,
    });
  }
  if (tag.scale === 0) problems.push({ pointer: '/scale', message: 'scale 0 would lose every value' });
  if (tag.byteOrder !== undefined && !BYTE_ORDERS.has(String(tag.byteOrder))) {
    problems.push({
      pointer: '/byteOrder',
      message: `byte order "${String(tag.byteOrder)}" is not ABCD, BADC, CDAB or DCBA`,
    });
  }

  const width = bitTable ? 1 : type === 'string' ? Number(tag.length ?? 1) : registersOf(type);
  const count = tag.count === undefined ? undefined : Number(tag.count);
  const span = width * (count ?? 1);
  // The limits come with the device schema's defaults; a device whose own block is broken (reported
  // on its own) may have none, and then this check waits for the fix.
  const limits: Partial<ModbusDeviceConfig['limits']> | undefined = device.limits;
  const limit = bitTable ? limits?.maxBits : limits?.maxRegisters;
  if (limit !== undefined && span > limit) {
    problems.push({
      pointer: count !== undefined ? '/count' : '/length',
      message: `tag spans ${span} ${bitTable ? 'bits' : 'registers'}, more than the ${limit} one request may read`,
    });
  }
  if (address + span > 65536) {
    problems.push({ pointer: '/address', message: `tag runs past address 65535 (${address} + ${span})` });
  }
  if (problems.length > 0) return problems;

  const resolved: ResolvedTag = {
    name: tag.name,
    table,
    address,
    type,
    width,
    span,
    // A tag without its own byte order takes its device's (the device schema's default).
    byteOrder: (tag.byteOrder as ByteOrder | undefined) ?? device.byteOrder,
    // The tag schema's enum and default (applied at load) make it one of the encodings.
    encoding: tag.encoding as TextEncoding,
    swapBytes: tag.swapBytes === true,
    pollMs: tag.pollMs,
    writable: tag.writable,
  };
  if (bit !== undefined) resolved.bit = bit;
  if (count !== undefined) resolved.count = count;
  if (tag.scale !== undefined) resolved.scale = tag.scale;
  if (tag.offset !== undefined) resolved.offset = tag.offset;
  return resolved;
}

export function checkTag(tag: TagConfig, device: ModbusDeviceConfig): TagProblem[] {
  const result = resolveTag(tag, device);
  return Array.isArray(result) ? result : [];
}
