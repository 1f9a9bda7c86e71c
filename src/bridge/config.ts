// The (defaulted) config of one bridge, as validated by config.schema.json ($id tagwire://bridge).
import { defaultsApplier } from '../../drivers/json-schema.js';
import type { QoS } from '../broker/api.js';
import schema from './config.schema.json' with { type: 'json' };
import { filterProblem } from './topics.js';

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
  /** Bytes kept free on the data disk; below, new messages are refused. */
  minFreeBytes: number;
}

/** One upstream address of a bridge with several (`addresses`). */
export interface UpstreamAddressConfig {
  url: string;
  username?: string;
  password?: string;
  tls?: BridgeTlsConfig;
}

export interface FailoverConfig {
  switchDelayMs: number;
  returnToPrimary: boolean;
  primaryCheckSec: number;
  ackTimeoutSec: number;
}

export interface BridgeConfig {
  name: string;
  /** One upstream; or `addresses` for several (the schema requires one of the two). */
  url?: string;
  addresses?: UpstreamAddressConfig[];
  failover: FailoverConfig;
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

/** An upstream address with the bridge-wide credentials and TLS filled in where it leaves them out. */
export interface UpstreamAddress {
  index: number;
  url: string;
  username?: string;
  password?: string;
  tls?: BridgeTlsConfig;
}

/** The addresses a bridge connects to, in order: the first is the primary. */
export function upstreamAddresses(cfg: BridgeConfig): UpstreamAddress[] {
  const listed: UpstreamAddressConfig[] = cfg.addresses ?? (cfg.url === undefined ? [] : [{ url: cfg.url }]);
  return listed.map((a, index) => {
    const address: UpstreamAddress = { index, url: a.url };
    const username = a.username ?? cfg.username;
    const password = a.password ?? cfg.password;
    const tls = a.tls ?? cfg.tls;
    if (username !== undefined) address.username = username;
    if (password !== undefined) address.password = password;
    if (tls !== undefined) address.tls = tls;
    return address;
  });
}

/** A URL as logs and status may show it: without any user:password part. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}

const bridgeDefaults = defaultsApplier<BridgeConfig>(schema);

/**
 * Validates one bridge entry on its own and fills in the defaults (the gateway's config loader
 * does the same through the composed schema). Throws one line per problem.
 */
export function parseBridgeConfig(input: unknown, where = 'bridge'): BridgeConfig {
  return bridgeDefaults(input, where);
}

/** What the schema cannot say: unique names, url or addresses, well-formed filters. One line per problem. */
export function checkBridges(bridges: readonly BridgeConfig[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  bridges.forEach((b, i) => {
    if (seen.has(b.name)) problems.push(`/bridges/${i}/name: bridge name '${b.name}' is used twice`);
    seen.add(b.name);
    if (b.url !== undefined && b.addresses !== undefined)
      problems.push(`/bridges/${i}: give either url or addresses, not both`);
    for (const [kind, rules] of [['out', b.out] as const, ['in', b.in] as const]) {
      rules.forEach((r, j) => {
        const problem = filterProblem(r.filter);
        if (problem) problems.push(`/bridges/${i}/${kind}/${j}/filter: ${problem}`);
      });
    }
  });
  return problems;
}
