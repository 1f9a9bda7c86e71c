// Config types for the Modbus driver and simulator, as they look once the schemas' defaults are
// applied. The defaults themselves live only in the schemas; `modbusDeviceConfig`,
// `modbusTagConfig` and `modbusSimulatorConfig` apply them for code
// (tests, the benchmark) that builds configs without going through `tagwire validate`.
import { defaultsApplier } from '../json-schema.js';
import type { SchemaDocument, TagConfig } from '../types.js';
import deviceSchema from './device.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };
import simulatorSchema from './simulator.schema.json' with { type: 'json' };

export type ByteOrder = 'ABCD' | 'BADC' | 'CDAB' | 'DCBA';

export interface TcpTransportConfig {
  type: 'tcp';
  host: string;
  port: number;
  maxInFlight: number;
  connectTimeoutMs: number;
}

export interface RtuOverTcpTransportConfig {
  type: 'rtu-over-tcp';
  host: string;
  port: number;
  connectTimeoutMs: number;
  interFrameDelayMs: number;
}

export interface RtuTransportConfig {
  type: 'rtu';
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  /** Absent: 3.5 character times from the baud rate. */
  interFrameDelayMs?: number;
}

export type TransportConfig = TcpTransportConfig | RtuOverTcpTransportConfig | RtuTransportConfig;

export interface RequestLimits {
  maxRegisters: number;
  maxBits: number;
  maxGapRegisters: number;
  maxGapBits: number;
}

export interface ModbusDeviceConfig {
  id: string;
  driver?: string;
  transport: TransportConfig;
  unitId: number;
  byteOrder: ByteOrder;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  slowRetryMs: number;
  deadAfterTimeouts: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  forceMultipleWrites: boolean;
  limits: RequestLimits;
}

export type SignalKind = 'sine' | 'ramp' | 'randomWalk' | 'counter' | 'constant';
export type SignalType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export interface SignalConfig {
  unitId?: number;
  address: string;
  type: SignalType;
  byteOrder: ByteOrder;
  kind: SignalKind;
  min: number;
  max: number;
  periodMs: number;
  step: number;
  value: number | boolean;
  scale: number;
}

export interface SimulatorFaults {
  delayMs: number;
  silentUnits: number[];
  garbageEvery: number;
  refuseFunctions: number[];
}

export interface ModbusSimulatorConfig {
  host: string;
  port: number;
  mode: 'tcp' | 'rtu-over-tcp' | 'rtu';
  path?: string;
  baudRate: number;
  unitIds: number[];
  profile: 'press' | 'none';
  unmapped: 'exception' | 'zero';
  periodMs: number;
  signals: SignalConfig[];
  faults: SimulatorFaults;
}

const deviceDefaults = defaultsApplier<ModbusDeviceConfig>(deviceSchema);
const tagDefaults = defaultsApplier<TagConfig>(tagSchema);
const simulatorDefaults = defaultsApplier<ModbusSimulatorConfig>(simulatorSchema);

/** A device config with the schema's defaults applied; throws with every problem on bad input. */
export function modbusDeviceConfig(input: { id: string } & Record<string, unknown>): ModbusDeviceConfig {
  return deviceDefaults(input, `invalid modbus device ${input.id}`);
}

/** A mapping tag with the Modbus tag schema's defaults applied (encoding, swapBytes...). */
export function modbusTagConfig(input: TagConfig): TagConfig {
  return tagDefaults(input, `invalid modbus tag ${input.name}`);
}

/** A simulator config with the schema's defaults applied. */
export function modbusSimulatorConfig(input: Record<string, unknown>): ModbusSimulatorConfig {
  return simulatorDefaults(input, 'invalid modbus simulator');
}

/** The driver's schema fragments (the gateway composes them into the config's schemas). */
export const schemas: Record<'device' | 'tag' | 'simulator', SchemaDocument> = {
  device: deviceSchema,
  tag: tagSchema,
  simulator: simulatorSchema,
};
