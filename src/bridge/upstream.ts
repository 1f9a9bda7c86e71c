// The connection to one upstream broker: MQTT.js with its own reconnect turned off, so this class
// owns the backoff (exponential, with jitter) and can say why each attempt failed.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { BridgeConfig } from './config.js';

export type FailureKind =
  'refused' | 'bad-credentials' | 'tls' | 'unreachable' | 'timeout' | 'closed' | 'protocol';

export interface UpstreamFailure {
  kind: FailureKind;
  message: string;
  /** Epoch ms. */
  at: number;
}

export interface ConnectedSession {
  client: MqttClient;
  sessionPresent: boolean;
  /** MQTT 5: the broker's Receive Maximum, when it sent one. */
  receiveMaximum?: number;
}

export interface UpstreamEvents {
  onConnected(session: ConnectedSession): void;
  /** A connected session ended (not called for failed attempts). */
  onDisconnected(failure: UpstreamFailure): void;
  onAttemptFailed(failure: UpstreamFailure, retryInMs: number): void;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
]);
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
]);

/** Sorts a connection error into the reasons the status API reports. */
export function classifyFailure(err: unknown, protocolVersion: 4 | 5): UpstreamFailure {
  const at = Date.now();
  if (!(err instanceof Error)) return { kind: 'closed', message: String(err), at };
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'number') {
    // A CONNACK refusal. Bad username/password (3.1.1: 4, MQTT 5: 134) and not authorized (5, 135)
    // both mean the login was refused: brokers differ in which they send (Mosquitto sends the latter).
    const login = protocolVersion === 5 ? code === 134 || code === 135 : code === 4 || code === 5;
    const kind: FailureKind = login ? 'bad-credentials' : 'refused';
    return { kind, message: `${err.message} (code ${code})`, at };
  }
  if (typeof code === 'string') {
    if (code === 'ECONNREFUSED') return { kind: 'refused', message: err.message, at };
    if (code === 'ECONNRESET' || code === 'EPIPE') return { kind: 'closed', message: err.message, at };
    if (UNREACHABLE_CODES.has(code)) return { kind: 'unreachable', message: err.message, at };
    if (TLS_CODES.has(code) || code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))
      return { kind: 'tls', message: `${code}: ${err.message}`, at };
  }
  if (/certificate|ssl|tls|handshake|alert/i.test(err.message))
    return { kind: 'tls', message: err.message, at };
  return { kind: 'protocol', message: err.message, at };
}

/** The delay before retry number `attempt` (0-based): doubling from min to max, then 50-100% of it. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(full / 2 + (random() * full) / 2);
}

export class Upstream {
  private client: MqttClient | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly cfg: BridgeConfig,
    private readonly clientId: string,
    private readonly statusTopic: string | undefined,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  /** Disconnects cleanly (DISCONNECT sent, so no will) within `timeoutMs`, then forcibly. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => client.end(true, {}, () => resolve()), timeoutMs);
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private attempt(): void {
    if (this.stopped) return;
    let options: IClientOptions;
    try {
      options = this.options();
    } catch (err) {
      // Unreadable certificate files: retrying will not help until someone fixes them, but keep trying.
      this.failed({ kind: 'tls', message: (err as Error).message, at: Date.now() });
      return;
    }
    const client = mqtt.connect(this.cfg.url, options);
    this.client = client;
    let connected = false;
    let lastError: unknown;
    const timeout = setTimeout(() => {
      lastError = Object.assign(new Error(`no CONNACK within ${this.cfg.connectTimeoutSec} s`), {
        code: 'TIMEOUT',
      });
      client.end(true);
    }, this.cfg.connectTimeoutSec * 1000);

    client.on('connect', (connack) => {
      clearTimeout(timeout);
      if (this.client !== client) return;
      connected = true;
      this.failures = 0;
      this.events.onConnected({
        client,
        sessionPresent: connack.sessionPresent,
        receiveMaximum: connack.properties?.receiveMaximum,
      });
    });
    client.on('error', (err) => (lastError = err));
    client.on('close', () => {
      clearTimeout(timeout);
      if (this.client !== client) return;
      this.client = undefined;
      client.end(true);
      const failure =
        lastError === undefined
          ? {
              kind: 'closed' as const,
              message: connected ? 'connection closed by the upstream' : 'closed before CONNACK',
              at: Date.now(),
            }
          : (lastError as { code?: unknown }).code === 'TIMEOUT'
            ? { kind: 'timeout' as const, message: (lastError as Error).message, at: Date.now() }
            : classifyFailure(lastError, this.cfg.protocolVersion);
      if (connected) {
        this.events.onDisconnected(failure);
        this.failures = 0;
      }
      this.failed(failure, connected);
    });
  }

  private failed(failure: UpstreamFailure, afterSession = false): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures++, this.cfg.reconnect.minDelayMs, this.cfg.reconnect.maxDelayMs);
    if (!afterSession) this.events.onAttemptFailed(failure, delay);
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  private options(): IClientOptions {
    const cfg = this.cfg;
    const options: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: cfg.protocolVersion,
      keepalive: cfg.keepaliveSec,
      clean: cfg.cleanSession,
      reconnectPeriod: 0,
      connectTimeout: cfg.connectTimeoutSec * 1000,
      resubscribe: false,
      log: () => undefined, // MQTT.js's debug tracing costs time on every packet
    };
    if (cfg.username !== undefined) options.username = cfg.username;
    if (cfg.password !== undefined) options.password = cfg.password;
    if (cfg.protocolVersion === 5)
      options.properties = { sessionExpiryInterval: cfg.cleanSession ? 0 : cfg.sessionExpirySec };
    if (this.statusTopic)
      options.will = { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true };
    const tls = cfg.tls;
    if (tls) {
      const secure: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
      if (tls.ca) secure.ca = pem(tls.ca, 'tls.ca');
      if (tls.cert) secure.cert = pem(tls.cert, 'tls.cert');
      if (tls.key) secure.key = pem(tls.key, 'tls.key');
      if (tls.passphrase) secure.passphrase = tls.passphrase;
      if (tls.servername) secure.servername = tls.servername;
      Object.assign(options, secure);
      // MQTT.js copies only some TLS options to its WebSocket; hand them all over for wss://.
      if (cfg.url.startsWith('wss:')) options.wsOptions = { ...secure } as IClientOptions['wsOptions'];
    }
    return options;
  }
}

/** Reads a PEM file now, so a renewed certificate is picked up at the next attempt. */
function pem(value: string, what: string): Buffer {
  try {
    return readFileSync(value);
  } catch (err) {
    throw new Error(`${what}: cannot read ${value}: ${(err as Error).message}`, { cause: err });
  }
}
