// The connection to the upstream broker: MQTT.js with its own reconnect turned off, so this class
// owns the choice of address (primary first, then backups), the backoff (exponential, with jitter)
// and can say why each attempt failed. While on a backup it checks the primary and moves back.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { createRequire } from 'node:module';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import { mqttJsIdProvider } from './lean-publisher.js';
import { displayUrl, upstreamAddresses, type BridgeConfig, type UpstreamAddress } from './config.js';

type Mqtt = typeof import('mqtt');
let mqttModule: Mqtt | undefined;
/** MQTT.js, loaded at the first connect: a gateway without bridges or Sparkplug upstreams skips its ~60 ms import. */
function mqtt(): Mqtt {
  return (mqttModule ??= createRequire(import.meta.url)('mqtt') as Mqtt);
}

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
  /** The address this session is connected to (index 0 is the primary). */
  address: UpstreamAddress;
  sessionPresent: boolean;
  /** MQTT 5: the broker's Receive Maximum, when it sent one. */
  receiveMaximum?: number;
}

/** The will of an upstream session; asked for at every connection attempt (it may change). */
export interface UpstreamWill {
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

export interface UpstreamEvents {
  onConnected(session: ConnectedSession): void;
  /**
   * A connected session ended (not called for failed attempts). `planned` when the bridge left it
   * on purpose, to return to the primary.
   */
  onDisconnected(failure: UpstreamFailure, planned: boolean): void;
  onAttemptFailed(failure: UpstreamFailure, retryInMs: number, address: UpstreamAddress): void;
  /**
   * The primary answers again while a backup is in use: called before the backup session is left,
   * so the bridge can let what is in flight be acknowledged and say goodbye there.
   */
  beforeReturnToPrimary?(): Promise<void>;
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
  private probeTimer: NodeJS.Timeout | undefined;
  private probe: MqttClient | undefined;
  private readonly addresses: UpstreamAddress[];
  /** The address the next (or current) attempt goes to. */
  private index = 0;
  /** Attempts that failed in a row in this round of addresses, and whole rounds that failed. */
  private failedInRound = 0;
  private failedRounds = 0;
  private stopped = false;
  private returning = false;
  /** Why `drop` ended the connection, reported instead of the socket's own reason. */
  private forcedFailure: UpstreamFailure | undefined;

  constructor(
    private readonly cfg: BridgeConfig,
    private readonly clientId: string,
    private readonly will: (() => UpstreamWill) | undefined,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
  ) {
    this.addresses = upstreamAddresses(cfg);
    if (this.addresses.length === 0) throw new Error(`bridge ${cfg.name}: no upstream url`);
  }

  start(): void {
    this.stopped = false;
    this.index = 0;
    this.attempt();
  }

  /** Disconnects cleanly (DISCONNECT sent, so no will) within `timeoutMs`, then forcibly. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopProbing();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await endClient(client, timeoutMs);
  }

  /**
   * The upstream stopped answering (e.g. acknowledgements overdue): drop the connection as a
   * failure, so the next address is tried. Keep alive catches a silent link by itself.
   */
  drop(message: string): void {
    const client = this.client;
    if (!client) return;
    this.forcedFailure = { kind: 'timeout', message, at: Date.now() };
    client.end(true);
  }

  private attempt(): void {
    if (this.stopped) return;
    const address = this.addresses[this.index]!;
    let options: IClientOptions;
    try {
      options = this.options(address, this.clientId, true);
    } catch (err) {
      // Unreadable certificate files: retrying will not help until someone fixes them, but keep trying.
      this.failed(address, { kind: 'tls', message: (err as Error).message, at: Date.now() }, false);
      return;
    }
    const client = mqtt().connect(address.url, options);
    this.client = client;
    this.forcedFailure = undefined;
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
      // Each tick's publishes leave as one write; Nagle would hold the next (a PUBREL, the next
      // batch) until the upstream's delayed ACK, some 40 ms.
      const stream = client.stream as { setNoDelay?: (noDelay: boolean) => unknown } | undefined;
      stream?.setNoDelay?.(true);
      this.failedInRound = 0;
      this.failedRounds = 0;
      this.events.onConnected({
        client,
        address,
        sessionPresent: connack.sessionPresent,
        receiveMaximum: connack.properties?.receiveMaximum,
      });
      if (address.index > 0 && this.cfg.failover.returnToPrimary) this.scheduleProbe();
    });
    client.on('error', (err) => (lastError = err));
    client.on('close', () => {
      clearTimeout(timeout);
      if (this.client !== client) return;
      this.client = undefined;
      this.stopProbing();
      client.end(true);
      const failure =
        this.forcedFailure ??
        (lastError === undefined
          ? {
              kind: 'closed' as const,
              message: connected ? 'connection closed by the upstream' : 'closed before CONNACK',
              at: Date.now(),
            }
          : (lastError as { code?: unknown }).code === 'TIMEOUT'
            ? { kind: 'timeout' as const, message: (lastError as Error).message, at: Date.now() }
            : classifyFailure(lastError, this.cfg.protocolVersion));
      this.forcedFailure = undefined;
      if (connected) this.events.onDisconnected(failure, false);
      this.failed(address, failure, connected);
    });
  }

  /**
   * Chooses the next attempt. One address: the same one again, with backoff. Several: the next
   * one after `switchDelayMs`; once every address failed in a row, backoff before the next round.
   */
  private failed(address: UpstreamAddress, failure: UpstreamFailure, afterSession: boolean): void {
    if (this.stopped) return;
    const count = this.addresses.length;
    let delay: number;
    if (afterSession) this.failedInRound = 0;
    if (count === 1) {
      delay = this.backoff(afterSession ? 0 : this.failedRounds++);
    } else {
      this.index = (address.index + 1) % count;
      if (!afterSession && ++this.failedInRound >= count) {
        this.failedInRound = 0;
        delay = this.backoff(this.failedRounds++);
      } else delay = this.cfg.failover.switchDelayMs;
    }
    if (!afterSession) this.events.onAttemptFailed(failure, delay, address);
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, this.cfg.reconnect.minDelayMs, this.cfg.reconnect.maxDelayMs);
  }

  private scheduleProbe(): void {
    this.stopProbing();
    this.probeTimer = setTimeout(() => this.probePrimary(), this.cfg.failover.primaryCheckSec * 1000);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.probe?.end(true);
    this.probe = undefined;
  }

  /**
   * A full MQTT connect to the primary, under its own client id (so it takes over no session),
   * without a will, left cleanly at once: a primary that only accepts TCP counts as down.
   */
  private probePrimary(): void {
    this.probeTimer = undefined;
    const session = this.client;
    if (this.stopped || !session || this.returning) return;
    const primary = this.addresses[0]!;
    let options: IClientOptions;
    try {
      options = this.options(primary, `${this.clientId}-probe`, false);
    } catch {
      this.scheduleProbe();
      return;
    }
    const probe = mqtt().connect(primary.url, options);
    this.probe = probe;
    const timeout = setTimeout(() => probe.end(true), this.cfg.connectTimeoutSec * 1000);
    let answered = false;
    probe.on('error', () => undefined);
    probe.on('connect', () => {
      answered = true;
      clearTimeout(timeout);
      probe.end(false, {}, () => undefined);
      if (this.probe === probe) this.probe = undefined;
      void this.returnToPrimary(session);
    });
    probe.on('close', () => {
      clearTimeout(timeout);
      if (this.probe !== probe) return;
      this.probe = undefined;
      if (!answered && this.client === session) this.scheduleProbe();
    });
  }

  /** Leaves the backup session cleanly (no will), then connects to the primary. */
  private async returnToPrimary(session: MqttClient): Promise<void> {
    if (this.stopped || this.client !== session) return;
    this.returning = true;
    try {
      this.log.debug(
        `bridge ${this.cfg.name}: the primary ${displayUrl(this.addresses[0]!.url)} answers again`,
      );
      await this.events.beforeReturnToPrimary?.();
      if (this.stopped || this.client !== session) return;
      this.client = undefined;
      await endClient(session, 2000);
      this.events.onDisconnected(
        { kind: 'closed', message: 'left the backup for the primary', at: Date.now() },
        true,
      );
      if (this.stopped) return;
      this.index = 0;
      this.failedInRound = 0;
      this.attempt();
    } finally {
      this.returning = false;
    }
  }

  private options(address: UpstreamAddress, clientId: string, session: boolean): IClientOptions {
    const cfg = this.cfg;
    const options: IClientOptions = {
      clientId,
      protocolVersion: cfg.protocolVersion,
      keepalive: cfg.keepaliveSec,
      clean: session ? cfg.cleanSession : true,
      reconnectPeriod: 0,
      connectTimeout: cfg.connectTimeoutSec * 1000,
      resubscribe: false,
      log: () => undefined, // MQTT.js's debug tracing costs time on every packet
      // Keep alive by the clock, not re-armed on every acknowledgement (a timer reset per PUBACK).
      reschedulePings: false,
      // The forwarder's publishes take the low packet ids (lean-publisher.ts).
      messageIdProvider: mqttJsIdProvider(),
    };
    if (address.username !== undefined) options.username = address.username;
    if (address.password !== undefined) options.password = address.password;
    if (cfg.protocolVersion === 5 && session)
      options.properties = { sessionExpiryInterval: cfg.cleanSession ? 0 : cfg.sessionExpirySec };
    if (this.will && session) options.will = this.will();
    const tls = address.tls;
    if (tls) {
      const secure: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
      if (tls.ca) secure.ca = pem(tls.ca, 'tls.ca');
      if (tls.cert) secure.cert = pem(tls.cert, 'tls.cert');
      if (tls.key) secure.key = pem(tls.key, 'tls.key');
      if (tls.passphrase) secure.passphrase = tls.passphrase;
      if (tls.servername) secure.servername = tls.servername;
      Object.assign(options, secure);
      // MQTT.js copies only some TLS options to its WebSocket; hand them all over for wss://.
      if (address.url.startsWith('wss:')) options.wsOptions = { ...secure } as IClientOptions['wsOptions'];
    }
    return options;
  }
}

/** Ends a client with a DISCONNECT (so no will) within `timeoutMs`, then forcibly. */
function endClient(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => client.end(true, {}, () => resolve()), timeoutMs);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads a PEM file now, so a renewed certificate is picked up at the next attempt. */
function pem(value: string, what: string): Buffer {
  try {
    return readFileSync(value);
  } catch (err) {
    throw new Error(`${what}: cannot read ${value}: ${(err as Error).message}`, { cause: err });
  }
}
