// The embedded MQTT broker: network listeners plus the in-process LocalBroker API used by the
// mapping, the command router and the bridge.
import type { Database } from '../store/db.js';
import { RetainedStore } from './persistence/retained.js';
import { SessionStore } from './persistence/sessions.js';
import type { Logger } from '../log.js';
import type { BrokerMessage, DurableHandler, LocalBroker, LocalHandler, Origin } from './api.js';
import type { BrokerConfig, ListenerConfig } from './config.js';
import { Connection } from './connection.js';
import { BrokerCore } from './core.js';
import { openListener, type OpenListener } from './listeners/listen.js';
import type { Transport } from './listeners/transport.js';
import type { ListenerPolicy } from './connection.js';
import type { RoutedMessage } from './message.js';
import type { TrieEntry } from './router.js';
import { FailureLog } from '../store/failure-log.js';
import type { BrokerStats } from './stats.js';
import { publishSys } from './sys.js';
import type { Authenticator } from './auth/authenticator.js';
import { clientsOf, retainedUnder, type ClientInfo, type RetainedEntry } from './introspect.js';
import { Reason } from './reason-codes.js';
import { topicFilterProblem, topicNameProblem } from './topics/validate.js';

export interface BrokerOptions {
  config: BrokerConfig;
  db?: Database;
  log: Logger;
}

const GATEWAY: Origin = { kind: 'internal', component: 'gateway' };

export class Broker implements LocalBroker {
  private readonly core: BrokerCore;
  private readonly db: Database | undefined;
  private readonly log: Logger;
  private listeners: OpenListener[] = [];
  private retainedStore: RetainedStore | null = null;
  private sessionStore: SessionStore | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sysTimer: NodeJS.Timeout | null = null;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private readonly listenerFailures = new Map<ListenerConfig, FailureLog>();

  constructor(opts: BrokerOptions) {
    this.core = new BrokerCore(opts.config, opts.log);
    this.db = opts.db;
    this.log = opts.log;
  }

  /** Loads retained messages and persistent sessions, then opens every listener. */
  async start(): Promise<void> {
    await this.open();
    await this.listen();
  }

  /**
   * Loads retained messages and persistent sessions: the in-process API works from here on, while
   * no network client can connect yet (see `listen`).
   */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error(`broker cannot open: it is ${this.state}`);
    this.state = 'starting';
    const core = this.core;
    try {
      if (this.db) {
        this.retainedStore = await RetainedStore.open(this.db, this.log);
        core.retained.useStore(this.retainedStore);
        await core.retained.load(Date.now());
        this.sessionStore = await SessionStore.open(this.db, this.log);
        core.persistence = this.sessionStore;
        const now = Date.now();
        for (const stored of await this.sessionStore.loadAll(now)) core.restoreSession(stored, now);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.sweepTimer = setInterval(() => core.sweep(), 1000);
    this.sweepTimer.unref();
    const sysMs = core.config.sys.intervalSec * 1000;
    if (sysMs > 0) {
      publishSys(core);
      this.sysTimer = setInterval(() => publishSys(core), sysMs);
      this.sysTimer.unref();
    }
  }

  /**
   * Opens every network listener. The gateway calls it last, once everything that consumes
   * messages (command router, bridges) is subscribed, so nothing a client sends finds them missing.
   */
  async listen(): Promise<void> {
    if (this.state !== 'starting') throw new Error(`broker cannot listen: it is ${this.state}`);
    const core = this.core;
    try {
      for (const listener of core.config.listeners) {
        this.listeners.push(
          await openListener(
            listener,
            core.config,
            (t, p) => this.accept(t, p),
            (err) => this.listenerFailed(listener, err),
          ),
        );
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.state = 'running';
    for (const l of this.listeners)
      this.log.info({ protocol: l.protocol, host: l.host, port: l.port }, 'MQTT listener open');
  }

  /** A listener failed after it opened (e.g. accept hit the file descriptor limit): said, rate-limited. */
  private listenerFailed(listener: ListenerConfig, err: Error): void {
    let failures = this.listenerFailures.get(listener);
    if (!failures) {
      failures = new FailureLog(
        this.log,
        `MQTT listener ${listener.protocol}://${listener.host}:${listener.port}`,
      );
      this.listenerFailures.set(listener, failures);
    }
    failures.failed(err, 1);
  }

  private accept(transport: Transport, policy: ListenerPolicy): void {
    if (this.state !== 'running' && this.state !== 'starting') return transport.destroy();
    const conn = new Connection(transport, policy, this.core);
    this.core.connections.add(conn);
  }

  /**
   * The first step of a stop: closes the listeners and disconnects every client. Called on its own
   * before in-process durable subscribers stop (a gateway's bridges), so that no client publish is
   * acknowledged once nothing would store it; in-process publishing still works.
   */
  async disconnectClients(): Promise<void> {
    this.core.stopping = true;
    const listeners = this.listeners;
    this.listeners = [];
    const closing = listeners.map((l) => l.close());
    // v5 clients are told why (0x8B); whoever has not closed within a second is cut.
    for (const conn of [...this.core.connections])
      conn.disconnect(Reason.ServerShuttingDown, 'broker shutting down');
    const deadline = Date.now() + 1000;
    while (this.core.connections.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const conn of [...this.core.connections]) conn.destroy();
    await Promise.all(closing);
  }

  /** Closes listeners and client connections and writes what is pending to SQLite. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.sysTimer) clearInterval(this.sysTimer);
    await this.disconnectClients();
    for (const session of this.core.sessions.values()) {
      if (session.expiryTimer) clearTimeout(session.expiryTimer);
      if (session.will?.timer) clearTimeout(session.will.timer);
    }
    await this.retainedStore?.flush();
    this.retainedStore?.close();
    await this.sessionStore?.close();
    for (const failures of this.listenerFailures.values()) failures.flush();
  }

  listening(): { protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss'; host: string; port: number }[] {
    return this.listeners.map(({ protocol, host, port }) => ({ protocol, host, port }));
  }

  publish(msg: BrokerMessage, origin: Origin = GATEWAY): void {
    this.core.publish(this.routed(msg, origin));
  }

  publishBatch(msgs: readonly BrokerMessage[], origin: Origin = GATEWAY): void {
    // Checked first so a bad message in the batch publishes none of it.
    const routed = msgs.map((m) => this.routed(m, origin));
    for (const msg of routed) this.core.publish(msg);
  }

  subscribe(filter: string, handler: LocalHandler): () => void {
    return this.addLocal(filter, { kind: 'local', handler });
  }

  subscribeDurable(filter: string, handler: DurableHandler): () => void {
    return this.addLocal(filter, { kind: 'durable', handler });
  }

  private addLocal(filter: string, entry: TrieEntry): () => void {
    const problem = topicFilterProblem(filter, this.core.limits);
    if (problem) throw new Error(`cannot subscribe to ${JSON.stringify(filter)}: ${problem}`);
    if (filter.startsWith('$share/')) throw new Error(`in-process subscriptions cannot be shared: ${filter}`);
    const key = {};
    this.core.router.add(filter, key, entry);
    return () => {
      this.core.router.remove(filter, key);
    };
  }

  /** The broker's logins: `verify(username, password, { address })` for other servers (HTTP). */
  get authenticator(): Authenticator {
    return this.core.auth;
  }

  mayPublish(origin: Origin, topic: string): boolean {
    return this.core.mayPublish(origin, topic);
  }

  /** The connected clients, for the HTTP API. */
  clients(): ClientInfo[] {
    return clientsOf(this.core);
  }

  /** Retained messages below a topic prefix ("" for all). */
  retainedUnder(prefix: string): RetainedEntry[] {
    return retainedUnder(this.core, prefix);
  }

  /** Why a filter is refused to this identity (malformed, or not allowed by the ACL); undefined when fine. */
  subscribeProblem(username: string | undefined, clientId: string, filter: string): string | undefined {
    const problem = topicFilterProblem(filter, this.core.limits);
    if (problem) return problem;
    if (filter.startsWith('$share/')) return 'shared subscriptions are for MQTT clients';
    if (!this.core.acl.forClient({ username, clientId }).maySubscribe(filter))
      return 'the ACL does not allow this subscription';
    return undefined;
  }

  /** Counters for $SYS, the HTTP status API and benchmarks. */
  stats(): BrokerStats & { connections: number; sessions: number; retained: number } {
    return {
      ...this.core.stats,
      connections: this.core.connections.size,
      sessions: this.core.sessions.size,
      retained: this.core.retained.size,
    };
  }

  private routed(msg: BrokerMessage, origin: Origin): RoutedMessage {
    const problem = topicNameProblem(msg.topic, this.core.limits);
    if (problem) throw new Error(`cannot publish to ${JSON.stringify(msg.topic)}: ${problem}`);
    const expiry = msg.properties?.messageExpiryInterval;
    return {
      topic: msg.topic,
      payload: msg.payload,
      qos: msg.qos,
      retain: msg.retain,
      properties: msg.properties,
      origin,
      expiresAt: expiry !== undefined && expiry > 0 ? Date.now() + expiry * 1000 : 0,
      publisher: null,
    };
  }
}
