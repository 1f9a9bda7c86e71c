// The broker block of gateway.config.json once defaults are applied (config.schema.json holds them;
// parseBrokerConfig applies them when the broker runs on its own).

import { defaultsApplier } from '../../drivers/json-schema.js';
import schema from './config.schema.json' with { type: 'json' };

export type ListenerProtocol = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface ListenerTls {
  cert: string;
  key: string;
  ca?: string;
  requireClientCert: boolean;
  certCnAsUsername: boolean;
}

interface ListenerBase {
  host: string;
  port: number;
  path: string;
  allowAnonymous?: boolean;
}

/** A plain listener never has TLS files; a TLS listener always has them. */
export type ListenerConfig =
  | (ListenerBase & { protocol: 'mqtt' | 'ws'; tls?: undefined })
  | (ListenerBase & { protocol: 'mqtts' | 'wss'; tls: ListenerTls });

export interface BrokerUser {
  username: string;
  passwordHash: string;
  /** HTTP role (src/config/types.ts HttpRole); MQTT ignores it. Default viewer. */
  role?: 'viewer' | 'operator' | 'admin';
}

export interface AclRule {
  /** A username, "$anonymous", or "*" for everyone. */
  user: string;
  /** What the rule's filters do; a deny overrides every allow, whatever the order. */
  access: 'allow' | 'deny';
  publish: string[];
  subscribe: string[];
}

/** Failed logins and their locks (auth/lockout.ts). */
export interface LockoutConfig {
  /** Failures of one username from one address before it is locked. */
  freeFailures: number;
  /** Different usernames failing from one address before the address is locked. */
  addressFreeUsernames: number;
  /** The first lock; each further failure doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A record without failures for this long is forgotten. */
  forgetAfterMs: number;
}

/** How password checks are run (auth/authenticator.ts). */
export interface LoginConfig {
  /** scrypt checks running at once. */
  workers: number;
  /** Checks waiting, over all clients; more are refused as busy. */
  maxPending: number;
  /** Checks waiting from one address. */
  maxPendingPerAddress: number;
  /** Verified credentials remembered (as keyed digests), so a reconnect storm costs one scrypt. */
  cacheSize: number;
  lockout: LockoutConfig;
}

export interface BrokerLimits {
  maxConnections: number;
  maxPacketSize: number;
  receiveMaximum: number;
  maxQueuedMessages: number;
  connectTimeoutMs: number;
  packetTimeoutMs: number;
  maxSubscriptionsPerClient: number;
  connectRatePerAddress: number;
  connectWaitMs: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  maxKeepAliveSec: number;
  maxSessionExpirySec: number;
  topicAliasMaximum: number;
}

export interface BrokerConfig {
  listeners: ListenerConfig[];
  allowAnonymous: boolean;
  users: BrokerUser[];
  acl: AclRule[];
  login: LoginConfig;
  limits: BrokerLimits;
  sys: { intervalSec: number };
}

export { schema as brokerConfigSchema };

const brokerDefaults = defaultsApplier<BrokerConfig>(schema);

/**
 * Checks a raw broker block against the schema and fills in defaults. The gateway's config loader
 * does the same over the whole file; this is for embedding the broker alone (tests, benchmarks).
 */
export function parseBrokerConfig(raw: unknown = {}): BrokerConfig {
  try {
    return brokerDefaults(raw, 'broker');
  } catch (err) {
    throw new Error(`invalid broker config:\n${(err as Error).message}`);
  }
}
