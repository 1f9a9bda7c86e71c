// The (defaulted) config of one bridge, as validated by config.schema.json ($id tagwire://bridge).
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { QoS } from '../broker/api.js';
import schema from './config.schema.json' with { type: 'json' };

export { schema as bridgeSchema };

export type ProtocolVersion = 4 | 5;
export type DropPolicy = 'drop-oldest' | 'drop-newest';

export interface BridgeTlsConfig {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

export interface OutRule {
  filter: string;
  qos: QoS;
  stripPrefix: string;
  prefix: string;
  retain: boolean;
  store: boolean;
}

export interface InRule {
  filter: string;
  qos: QoS;
  stripPrefix: string;
  prefix: string;
}

export interface OutboxConfig {
  maxMessages: number;
  maxBytes: number;
  maxAgeSec: number;
  dropPolicy: DropPolicy;
  drainRatePerSec: number;
  inflight: number;
}

export interface BridgeConfig {
  name: string;
  url: string;
  protocolVersion: ProtocolVersion;
  clientId?: string;
  username?: string;
  password?: string;
  tls?: BridgeTlsConfig;
  keepaliveSec: number;
  cleanSession: boolean;
  sessionExpirySec: number;
  connectTimeoutSec: number;
  reconnect: { minDelayMs: number; maxDelayMs: number };
  statusTopic: string | false;
  localUser?: string;
  out: OutRule[];
  in: InRule[];
  outbox: OutboxConfig;
  statusIntervalSec: number;
}

let validator: ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};

/**
 * Validates one bridge entry on its own and fills in the defaults (the gateway's config loader
 * does the same through the composed schema). Throws one line per problem.
 */
export function parseBridgeConfig(input: unknown, where = 'bridge'): BridgeConfig {
  if (!validator) {
    const ajv = new Ajv2020({ useDefaults: true, allErrors: true, strict: true });
    validator = ajv.compile(schema);
  }
  const copy: unknown = structuredClone(input);
  if (!validator(copy)) {
    const problems = (validator.errors ?? []).map(
      (e) => `${where}: ${e.instancePath || '/'}: ${e.message ?? 'invalid'}`,
    );
    throw new Error(problems.join('\n'));
  }
  return copy as BridgeConfig;
}
