// Config blocks of the OPC UA driver and simulator, as they look after the schemas' defaults.
// The schemas beside this file (device, tag, simulator) are the one place defaults live.

export type SecurityModeName = 'None' | 'Sign' | 'SignAndEncrypt';

/** Current policies first; the legacy ones are accepted only when configured, with a warning. */
export type SecurityPolicyName =
  'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss' | 'Basic256' | 'Basic128Rsa15';

export const LEGACY_POLICIES: readonly SecurityPolicyName[] = ['Basic256', 'Basic128Rsa15'];

/** Who the gateway logs in as: anonymous when absent. */
export type OpcuaIdentity =
  | { username: string; password: string }
  /** X.509 user certificate and its private key, PEM files (relative paths from the working directory). */
  | { certificate: string; privateKey: string };

export interface OpcuaDeviceConfig {
  id: string;
  driver: 'opcua';
  endpointUrl: string;
  securityMode: SecurityModeName;
  securityPolicy: SecurityPolicyName;
  user?: OpcuaIdentity;
  publishingIntervalMs: number;
  /** Keep-alive count of the subscription: the server sends a keep-alive after this many empty intervals. */
  keepAliveCount: number;
  /** The watchdog rebuilds a subscription silent for keepAliveCount x publishingIntervalMs x this factor. */
  watchdogFactor: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  sessionTimeoutMs: number;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  /** Upper bound of nodes per Read / CreateMonitoredItems call, lowered further by the server's limits. */
  maxNodesPerCall: number;
  /** PKI folder; relative paths are below the gateway's data directory. */
  pkiDir: string;
  applicationName: string;
}

export type OpcuaTagMode = 'subscribe' | 'poll';
export type DeadbandType = 'none' | 'absolute' | 'percent';
export type DataChangeTriggerName = 'Status' | 'StatusValue' | 'StatusValueTimestamp';

/** The numeric OPC UA built-in types: the ones `min`/`max` apply to. */
export const OPCUA_NUMERIC_TYPES = [
  'SByte',
  'Byte',
  'Int16',
  'UInt16',
  'Int32',
  'UInt32',
  'Int64',
  'UInt64',
  'Float',
  'Double',
] as const;

/** OPC UA built-in types a tag may declare; `auto` takes the node's own DataType. */
export const OPCUA_TAG_TYPES = [
  'auto',
  'Boolean',
  ...OPCUA_NUMERIC_TYPES,
  'String',
  'DateTime',
  'ByteString',
  'LocalizedText',
  'Guid',
] as const;
export type OpcuaTagType = (typeof OPCUA_TAG_TYPES)[number];

/** The OPC UA keys of a tag (beside the common ones: name, unit, writable, min, max, pollMs...). */
export interface OpcuaTagOptions {
  type: OpcuaTagType;
  mode: OpcuaTagMode;
  /** Server-side sampling interval; the tag's pollMs when absent. */
  samplingIntervalMs?: number;
  queueSize: number;
  discardOldest: boolean;
  deadbandType: DeadbandType;
  deadbandValue: number;
  dataChangeTrigger: DataChangeTriggerName;
}

export interface OpcuaSimulatorUser {
  username: string;
  password: string;
}

export interface OpcuaSimulatorConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  securityModes: SecurityModeName[];
  securityPolicies: SecurityPolicyName[];
  allowAnonymous: boolean;
  users: OpcuaSimulatorUser[];
  /** Accept any client certificate (true) or only those in the simulator's trusted folder. */
  autoAcceptClientCertificates: boolean;
  /** Where the simulator keeps its certificate; reused across starts so start-up stays fast. */
  pkiDir?: string;
  /** The server's limit of monitored items per subscription; 0 for none. */
  maxMonitoredItemsPerSubscription: number;
  /** Oven model update period. */
  updateMs: number;
  /** Extra generated Double points `ns=2;s=Load.N` that change every `intervalMs`, for benchmarks. */
  loadPoints: { count: number; intervalMs: number };
}
