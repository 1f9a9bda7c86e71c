// The broker's state and the operations the packet handlers share: sessions, subscriptions,
// routing, wills, and the per-tick write flush. Network listeners and the public Broker class sit
// on top; the handlers in handlers/ hold the per-packet protocol logic.
import type { Logger } from '../log.js';
import type { Origin } from './api.js';
import { Acl, type ClientAcl } from './auth/acl.js';
import { Authenticator } from './auth/authenticator.js';
import { ConnectRateLimiter } from './auth/rate-limit.js';
import type { Packet, ProtocolVersion } from './codec.js';
import type { BrokerConfig, BrokerLimits } from './config.js';
import type { Connection, ConnectionHost } from './connection.js';
import { dispatchPacket } from './handlers/dispatch.js';
import type { RoutedMessage } from './message.js';
import { Reason } from './reason-codes.js';
import { RetainedMessages } from './retained.js';
import { Router } from './router.js';
import { Session, type SessionPersistence, type SubscriptionOptions } from './session.js';
import { SharedGroup } from './shared.js';
import { BrokerStats } from './stats.js';
import { parseSharedFilter } from './topics/validate.js';
import type { PendingWill } from './will.js';
import type { StoredSession } from './persistence/sessions.js';

export class BrokerCore implements ConnectionHost {
  readonly limits: BrokerLimits;
  readonly stats = new BrokerStats();
  readonly router: Router;
  readonly sessions = new Map<string, Session>();
  readonly connections = new Set<Connection>();
  readonly retained: RetainedMessages;
  readonly auth: Authenticator;
  readonly acl: Acl;
  readonly connectRate: ConnectRateLimiter;
  persistence: SessionPersistence | null = null;
  /** Set while the broker shuts down: connections close without their wills. */
  stopping = false;
  private readonly sharedGroups = new Map<string, SharedGroup>();
  private dirty: Connection[] = [];
  private flushScheduled = false;

  constructor(
    readonly config: BrokerConfig,
    readonly log: Logger,
  ) {
    this.limits = config.limits;
    this.router = new Router(log);
    this.retained = new RetainedMessages();
    this.auth = new Authenticator(config.users, config.login, log);
    this.acl = new Acl(config.acl);
    this.connectRate = new ConnectRateLimiter(
      config.limits.connectRatePerAddress,
      config.limits.connectWaitMs,
    );
  }

  dispatch(conn: Connection, packet: Packet): void {
    dispatchPacket(this, conn, packet);
  }

  /** Connections written to during this tick are flushed together once it ends. */
  scheduleFlush(conn: Connection): void {
    this.dirty.push(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flushAll());
  }

  flushAll(): void {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const conn of dirty) conn.flush();
  }

  /**
   * Publishes into the broker: retained store, then every matching subscriber. When `commits` is
   * given, the commits of every durable destination that took the message are added to it
   * (retained store, bridge outboxes; persistent sessions are waited for through `persistence`).
   */
  publish(msg: RoutedMessage, commits?: Promise<void>[]): void {
    this.stats.messagesReceived++;
    this.stats.receivedByQos[msg.qos]++;
    if (msg.retain) {
      const commit = this.retained.set(msg);
      if (commit && commits) commits.push(commit);
    }
    this.router.route(msg, commits);
  }

  newSession(clientId: string, version: ProtocolVersion): Session {
    const session = new Session(
      clientId,
      version,
      this.limits.maxQueuedMessages,
      this.stats,
      this.persistence,
    );
    this.sessions.set(clientId, session);
    return session;
  }

  /** Ends a session for good: its subscriptions, queue and stored state go. */
  discardSession(session: Session): void {
    for (const filter of [...session.subscriptions.keys()]) this.removeSubscription(session, filter);
    session.clear();
    if (session.expiryTimer) clearTimeout(session.expiryTimer);
    session.expiryTimer = null;
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId);
    if (session.stored) this.persistence?.deleteSession(session.clientId);
    session.stored = false;
    session.detachPersistence();
  }

  /** Writes a persistent session's state (no-op for sessions that end with their connection). */
  saveSession(session: Session): void {
    if (!session.persistent) return;
    session.stored = true;
    this.persistence!.saveSession(session);
  }

  /** `reader`: the client's ACL when the subscription needs a read check per message, else null. */
  addSubscription(
    session: Session,
    filter: string,
    options: SubscriptionOptions,
    reader: ClientAcl | null,
  ): boolean {
    const existed = session.subscriptions.has(filter);
    session.subscriptions.set(filter, options);
    const shared = parseSharedFilter(filter);
    if (shared && typeof shared === 'object') {
      const key = `${shared.group}\u0000${shared.filter}`;
      let group = this.sharedGroups.get(key);
      if (!group) {
        group = new SharedGroup(shared.group, shared.filter);
        this.sharedGroups.set(key, group);
        this.router.add(shared.filter, group, { kind: 'shared', group });
      }
      group.set(session, options, reader);
    } else {
      this.router.add(filter, session, { kind: 'session', session, options, reader });
    }
    return !existed;
  }

  removeSubscription(session: Session, filter: string): boolean {
    if (!session.subscriptions.delete(filter)) return false;
    const shared = parseSharedFilter(filter);
    if (shared && typeof shared === 'object') {
      const key = `${shared.group}\u0000${shared.filter}`;
      const group = this.sharedGroups.get(key);
      if (group) {
        group.delete(session);
        if (group.size === 0) {
          this.sharedGroups.delete(key);
          this.router.remove(shared.filter, group);
        }
      }
    } else {
      this.router.remove(filter, session);
    }
    return true;
  }

  /** A connection ended: the session is detached or discarded, the will is scheduled or sent. */
  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
    const session = conn.session;
    if (!session || session.link !== conn) return;
    session.detach();
    const will = session.will;
    session.will = null;
    if (will && !conn.willSuppressed && !this.stopping) this.scheduleWill(session, will);
    if (session.expirySec === 0) {
      this.discardSession(session);
      return;
    }
    this.saveSession(session);
    if (!this.stopping) this.scheduleExpiry(session, session.expirySec * 1000);
  }

  /** Brings back a session stored before a restart, offline, with its subscriptions and messages. */
  restoreSession(stored: StoredSession, now: number): void {
    const session = this.newSession(stored.clientId, stored.version);
    session.username = stored.username;
    session.expirySec = stored.expirySec;
    session.disconnectedAt = stored.disconnectedAt;
    session.stored = true;
    // The ACL as configured now decides what the restored subscriptions carry.
    const acl = this.acl.forClient({ username: stored.username, clientId: stored.clientId });
    for (const [filter, options] of stored.subscriptions) {
      const shared = parseSharedFilter(filter);
      const access = acl.subscription(shared && typeof shared === 'object' ? shared.filter : filter);
      this.addSubscription(session, filter, options, access === 'whole' ? null : acl);
    }
    for (const out of stored.messages) session.restore(out);
    this.scheduleExpiry(session, stored.disconnectedAt + stored.expirySec * 1000 - now);
  }

  private scheduleExpiry(session: Session, ms: number): void {
    // Timers past 2^31 ms overflow; such sessions are checked again when the broker restarts.
    if (ms > 2 ** 31 - 1) return;
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = null;
      if (session.link) return;
      if (session.will) {
        // Session expiry ends a pending will delay (MQTT-3.1.3-9).
        const will = session.will;
        session.will = null;
        if (will.timer) clearTimeout(will.timer);
        this.sendWill(will);
      }
      this.discardSession(session);
    }, ms);
    session.expiryTimer.unref();
  }

  private scheduleWill(session: Session, will: PendingWill): void {
    const delaySec = Math.min(will.delaySec, session.expirySec);
    if (delaySec === 0) return this.sendWill(will);
    session.will = will;
    will.timer = setTimeout(() => {
      if (session.will === will) session.will = null;
      this.sendWill(will);
    }, delaySec * 1000);
    will.timer.unref();
  }

  /** Cancels a will waiting out its delay (the client came back). */
  cancelWill(session: Session): void {
    if (session.will?.timer) clearTimeout(session.will.timer);
    session.will = null;
  }

  sendWill(will: PendingWill): void {
    const acl = this.acl.forClient({ username: will.username, clientId: will.clientId });
    if (!acl.mayPublish(will.topic)) {
      this.stats.publishDenied++;
      this.log.warn({ clientId: will.clientId, topic: will.topic }, 'will message denied by the ACL');
      return;
    }
    const expiry = will.properties?.messageExpiryInterval;
    this.publish({
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      properties: will.properties,
      origin: will.origin,
      expiresAt: expiry !== undefined ? Date.now() + expiry * 1000 : 0,
      publisher: null,
    });
  }

  /** Whether an identity may publish to a topic, by the ACL (bridges and will messages too). */
  mayPublish(origin: Origin, topic: string): boolean {
    if (origin.kind === 'internal') return true;
    const clientId = origin.kind === 'client' ? origin.clientId : `bridge:${origin.bridge}`;
    return this.acl.forClient({ username: origin.username, clientId }).mayPublish(topic);
  }

  /** Periodic housekeeping: keepalive, connect and packet timeouts. */
  sweep(): void {
    const now = Date.now();
    for (const conn of this.connections) {
      const pendingSince = conn.packetPendingSince();
      if (pendingSince !== 0 && now - pendingSince > this.limits.packetTimeoutMs) {
        conn.fail(
          Reason.KeepAliveTimeout,
          `packet not completed within ${this.limits.packetTimeoutMs} ms of its first byte`,
        );
      } else if (conn.state === 'awaiting-connect') {
        // A client whose password check waits in the (bounded, fair) queue is not timed out for it.
        if (now - conn.openedAt > this.limits.connectTimeoutMs) conn.destroy();
      } else if (
        conn.state === 'open' &&
        conn.keepaliveMs > 0 &&
        now - conn.lastActivity > conn.keepaliveMs * 1.5
      ) {
        conn.disconnect(Reason.KeepAliveTimeout, 'keep alive timeout');
      }
    }
    this.connectRate.sweep(now);
    this.auth.sweep(now);
  }
}
