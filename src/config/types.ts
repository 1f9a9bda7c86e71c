// The configuration as the rest of the gateway sees it: every default applied, every path absolute,
// every mapping resolved to concrete topics and publish policies.
import type { DeviceBase, JsonValue, TagConfig } from '../../drivers/types.js';
import type { ModbusSimulatorConfig } from '../../drivers/modbus/config.js';
import type { OpcuaSimulatorConfig } from '../../drivers/opcua/config.js';
import type { QoS } from '../broker/api.js';
import type { BridgeConfig } from '../bridge/config.js';
import type { BrokerConfig } from '../broker/config.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface GatewayBlock {
  id: string;
  /** Absolute. */
  dataDir: string;
  logLevel: LogLevel;
  auditRetentionDays: number;
  /** Seconds between status publications per device; 0: on state changes only. */
  statusIntervalSec: number;
}

/**
 * A device: the common keys, and its driver's keys (checked by that driver's schema fragment).
 * Code that knows a driver views the device through it: `DeviceOf<ModbusDeviceConfig>`.
 */
export type DeviceConfig = DeviceBase & { [key: string]: unknown };

/** A device of a known driver, seen with that driver's config type. */
export type DeviceOf<DriverKeys> = DeviceBase & Omit<DriverKeys, 'id' | 'driver'>;

/** What an HTTP user or token may do: viewer reads, operator also writes tags, admin also edits mappings. */
export type HttpRole = 'viewer' | 'operator' | 'admin';

export interface HttpToken {
  name: string;
  tokenHash: string;
  role: HttpRole;
}

export interface HttpConfig {
  host: string;
  port: number;
  enabled: boolean;
  /** Absolute paths once loaded. */
  tls?: { cert: string; key: string };
  allowAnonymous: boolean;
  /** The role of anonymous requests (allowAnonymous, loopback only). */
  anonymousRole: HttpRole;
  metrics: { anonymous: boolean };
  tokens: HttpToken[];
  sessionIdleMin: number;
  loginAttemptsPerMin: number;
}

/**
 * `simulators.<driver>`: one list per registered driver that has a simulator (each entry checked
 * by the driver's simulator schema). The built-in drivers' lists are typed for code and tests
 * that edit them.
 */
export type SimulatorsConfig = { [driver: string]: unknown[] | undefined } & {
  modbus: ModbusSimulatorConfig[];
  opcua: OpcuaSimulatorConfig[];
};

/** gateway.config.json with defaults applied and relative paths resolved. */
export interface GatewayConfig {
  gateway: GatewayBlock;
  broker: BrokerConfig;
  devices: DeviceConfig[];
  /** The patterns as written; the files they matched are in LoadedConfig.mappings. */
  mappings: string[];
  bridges: BridgeConfig[];
  http: HttpConfig;
  simulators: SimulatorsConfig;
}

export type PayloadFormat = 'json' | 'json-device' | 'value';

/** When a tag's value is published. A quality change is always published, whatever the policy. */
export type PublishPolicy =
  | {
      kind: 'change';
      /** Absolute deadband; 0 publishes every change. */
      deadband: number;
      /** Percent of the last published value; 0 turns it off. */
      deadbandPercent: number;
      /** Republish the latest value after this long without a publish; 0 turns it off. */
      heartbeatMs: number;
      minIntervalMs: number;
    }
  | { kind: 'periodic'; periodMs: number; minIntervalMs: number };

export interface RateLimit {
  writes: number;
  perSec: number;
}

/** A tag after defaults: what the driver needs (TagConfig) plus where and how it is published. */
export interface MappedTag extends TagConfig {
  /** The tag's full topic. */
  topic: string;
  qos: QoS;
  retain: boolean;
  policy: PublishPolicy;
  expirySec?: number;
  commandTimeoutMs: number;
  enum?: Array<number | string | boolean>;
  rateLimit?: RateLimit;
  description?: string;
  /** Digits after the decimal point in published values. */
  decimals?: number;
}

/** A mapping's Sparkplug B output, with its defaults applied. */
export interface SparkplugMappingConfig {
  groupId: string;
  edgeNodeId: string;
  deviceId: string;
  primaryHostId?: string;
  bridge?: string;
  json: boolean;
}

/** One mapping file applied to one device (a template file yields one per instance). */
export interface LoadedMapping {
  /** Absolute path of the mapping file. */
  file: string;
  device: string;
  /** The rendered device topic (`{topic}`): device-level commands and `json-device` snapshots. */
  topic: string;
  format: PayloadFormat;
  /** Static fields added to `json` and `json-device` payloads. */
  fields: Record<string, JsonValue>;
  tags: MappedTag[];
  /** Also (or only) published as a Sparkplug B device. */
  sparkplug?: SparkplugMappingConfig;
}
