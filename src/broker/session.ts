// A client session: its subscriptions, and the broker-to-client QoS flows (packet ids, the
// in-flight window, the bounded queue behind it). It outlives its connection when persistent.
import type { QoS } from './api.js';
import { encodeAck, withPacketId, type ProtocolVersion } from './codec.js';
import { aliasedEncoding, encodingFor, isExpired, keepable, type RoutedMessage } from './message.js';
import type { PendingWill } from './will.js';

export interface SubscriptionOptions {
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  subscriptionId?: number;
}

/** One message on its way to this session's client. */
export interface Outgoing {
  msg: RoutedMessage;
  qos: QoS;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  /** Set when sent (QoS 1/2); 0 while queued. */
  packetId: number;
  /** publish: waiting for PUBACK/PUBREC; release: PUBREL sent, waiting for PUBCOMP. */
  stage: 'queued' | 'publish' | 'release';
  /** Persistence key within the session; 0 when not persisted. */
  seq: number;
}

/** What a session needs from the connection it is attached to. */
export interface SessionLink {
  readonly version: ProtocolVersion;
  /** The client's Receive Maximum, capped by the broker's own in-flight limit. */
  readonly sendQuota: number;
  /** The client's Maximum Packet Size (v5), else the broker's. */
  readonly maxPacketSize: number;
  write(bytes: Buffer): void;
  /** True while the socket holds more than its high-water mark of unsent bytes. */
  congested(): boolean;
  /** Called when the queue is full of QoS 1/2 messages: the client is too slow and is let go. */
  overflow(): void;
  /** The topic alias to use towards the client (v5, when it accepts them), or null. */
  aliasFor(topic: string): { alias: number; known: boolean } | null;
}

/** Durable storage of persistent sessions (src/broker/persistence/sessions.ts). */
export interface SessionPersistence {
  saveSession(session: Session): void;
  deleteSession(clientId: string): void;
  saveMessage(clientId: string, out: Outgoing): void;
  deleteMessage(clientId: string, seq: number): void;
  /** Resolves once every change queued so far is committed; null when none is pending. */
  durable(): Promise<void> | null;
}

export interface SessionCounters {
  messagesSent: number;
  messagesDropped: number;
  readonly sentByQos: [number, number, number];
}

export class Session {
  readonly subscriptions = new Map<string, SubscriptionOptions>();
  /** Broker-to-client QoS 1/2 messages sent and not yet acknowledged, in send order. */
  readonly inflight = new Map<number, Outgoing>();
  /** Client-to-broker QoS 2 packet ids received and not yet released. */
  readonly awaitingRelease = new Set<number>();
  link: SessionLink | null = null;
  username: string | undefined;
  version: ProtocolVersion;
  /** Seconds the session outlives its connection; 0: it ends with it. */
  expirySec = 0;
  disconnectedAt = 0;
  expiryTimer: NodeJS.Timeout | null = null;
  will: PendingWill | null = null;
  /** True once written to SQLite: it must then be deleted there when it ends. */
  stored = false;
  /** Set while routing one message, to merge overlapping subscriptions into one delivery. */
  routeMark = 0;
  routeQos: QoS = 0;
  routeRetain = false;
  routeSubIds: number[] | undefined;

  private queue: Outgoing[] = [];
  private queueHead = 0;
  private nextPacketId = 1;
  private nextSeq = 1;

  constructor(
    readonly clientId: string,
    version: ProtocolVersion,
    private readonly maxQueued: number,
    private readonly counters: SessionCounters,
    private persistence: SessionPersistence | null,
  ) {
    this.version = version;
  }

  get persistent(): boolean {
    return this.expirySec > 0 && this.persistence !== null;
  }

  get queuedCount(): number {
    return this.queue.length - this.queueHead;
  }

  /** Stops persisting (the session is being discarded). */
  detachPersistence(): void {
    this.persistence = null;
  }

  /** Hands a matching message to the session: sent now, queued, or dropped per its QoS and state. */
  deliver(msg: RoutedMessage, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined): void {
    const link = this.link;
    if (!link && qos === 0) return; // QoS 0 is not kept for offline sessions
    if (link && this.queuedCount === 0) {
      if (qos === 0) {
        // Sent at once, without an Outgoing record: the usual delivery of a live subscriber.
        if (!link.congested()) return this.sendQos0(link, msg, retain, subscriptionIds, Date.now());
      } else if (this.inflight.size < link.sendQuota) {
        const out: Outgoing = { msg, qos, retain, subscriptionIds, packetId: 0, stage: 'queued', seq: 0 };
        return this.send(link, out, Date.now());
      }
    }
    this.enqueue({ msg, qos, retain, subscriptionIds, packetId: 0, stage: 'queued', seq: 0 });
  }

  private enqueue(out: Outgoing): void {
    keepable(out.msg);
    if (this.queuedCount >= this.maxQueued && !this.makeRoom()) {
      this.counters.messagesDropped++;
      if (this.link) this.link.overflow();
      return;
    }
    if (out.qos > 0 && this.persistent) {
      out.seq = this.nextSeq++;
      this.persistence!.saveMessage(this.clientId, out);
    }
    this.queue.push(out);
  }

  /** Drops the oldest queued QoS 0 message; false when every queued message is QoS 1/2. */
  private makeRoom(): boolean {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      if (this.queue[i]!.qos !== 0) continue;
      // The usual case, a stuck QoS 0 subscriber, drops at the head: O(1), not a splice of the
      // whole queue per message (which stalled the event loop at 100k tags/s).
      if (i === this.queueHead) {
        this.queueHead++;
        if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.queueHead);
          this.queueHead = 0;
        }
      } else {
        this.queue.splice(i, 1);
      }
      this.counters.messagesDropped++;
      return true;
    }
    return false;
  }

  private allocatePacketId(): number {
    // Ids in flight are skipped; the window is far smaller than 65535, so this ends quickly.
    for (;;) {
      const id = this.nextPacketId;
      this.nextPacketId = id === 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  private send(link: SessionLink, out: Outgoing, now: number): void {
    if (out.qos === 0) return this.sendQos0(link, out.msg, out.retain, out.subscriptionIds, now);
    if (isExpired(out.msg, now)) return this.forget(out);
    const alias = link.aliasFor(out.msg.topic);
    const encoded = alias
      ? aliasedEncoding(out.msg, out.qos, out.retain, out.subscriptionIds, now, alias.alias, alias.known)
      : encodingFor(out.msg, link.version, out.qos, out.retain, out.subscriptionIds, now);
    // A packet larger than the client accepts is discarded as if sent (MQTT-3.1.2-25).
    if (encoded.bytes.length > link.maxPacketSize) {
      this.counters.messagesDropped++;
      return this.forget(out);
    }
    out.packetId = this.allocatePacketId();
    out.stage = 'publish';
    keepable(out.msg);
    this.inflight.set(out.packetId, out);
    if (this.persistent) {
      if (out.seq === 0) out.seq = this.nextSeq++;
      this.persistence!.saveMessage(this.clientId, out);
    }
    link.write(withPacketId(encoded, out.packetId, false));
    this.counters.messagesSent++;
    this.counters.sentByQos[out.qos]++;
  }

  private sendQos0(
    link: SessionLink,
    msg: RoutedMessage,
    retain: boolean,
    subscriptionIds: number[] | undefined,
    now: number,
  ): void {
    if (isExpired(msg, now)) return;
    const alias = link.aliasFor(msg.topic);
    const encoded = alias
      ? aliasedEncoding(msg, 0, retain, subscriptionIds, now, alias.alias, alias.known)
      : encodingFor(msg, link.version, 0, retain, subscriptionIds, now);
    // A packet larger than the client accepts is discarded as if sent (MQTT-3.1.2-25).
    if (encoded.bytes.length > link.maxPacketSize) {
      this.counters.messagesDropped++;
      return;
    }
    link.write(encoded.bytes);
    this.counters.messagesSent++;
    this.counters.sentByQos[0]++;
  }

  private forget(out: Outgoing): void {
    if (out.seq !== 0) this.persistence?.deleteMessage(this.clientId, out.seq);
  }

  /** Sends what the window and the socket allow from the queue, oldest first. */
  pump(): void {
    const link = this.link;
    if (!link) return;
    const now = Date.now();
    while (this.queueHead < this.queue.length) {
      const out = this.queue[this.queueHead]!;
      if (out.qos === 0 ? link.congested() : this.inflight.size >= link.sendQuota) break;
      this.queueHead++;
      this.send(link, out, now);
    }
    if (this.queueHead > 1024 || this.queueHead === this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  /** Attaches a connection: unacknowledged messages go again (DUP set), then the queue. */
  attach(link: SessionLink): void {
    this.link = link;
    this.disconnectedAt = 0;
    if (this.expiryTimer) {
      clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
    }
    const now = Date.now();
    for (const out of this.inflight.values()) {
      if (out.stage === 'release') {
        link.write(encodeAck('pubrel', out.packetId, link.version));
        continue;
      }
      const encoded = encodingFor(out.msg, link.version, out.qos, out.retain, out.subscriptionIds, now);
      link.write(withPacketId(encoded, out.packetId, true));
    }
    this.pump();
  }

  detach(): void {
    this.link = null;
    this.disconnectedAt = Date.now();
    // QoS 0 messages waiting behind a slow socket are not kept for an offline client.
    this.queue = this.queue.slice(this.queueHead).filter((out) => out.qos > 0);
    this.queueHead = 0;
  }

  /**
   * The acknowledgement the in-flight message `packetId` waits for, or null when no message has
   * that id (a late ack of a message settled before a takeover, which is tolerated).
   */
  expectedAck(packetId: number): 'puback' | 'pubrec' | 'pubcomp' | null {
    const out = this.inflight.get(packetId);
    if (!out) return null;
    if (out.stage === 'release') return 'pubcomp';
    return out.qos === 1 ? 'puback' : 'pubrec';
  }

  onPuback(packetId: number): boolean {
    const out = this.inflight.get(packetId);
    if (!out || out.qos !== 1) return false;
    this.inflight.delete(packetId);
    this.forget(out);
    this.pump();
    return true;
  }

  /** PUBREC: moves the message to its release stage; returns false for an unknown id. */
  onPubrec(packetId: number, reasonCode: number): boolean {
    const out = this.inflight.get(packetId);
    if (!out || out.qos !== 2) return false;
    if (reasonCode >= 0x80) {
      // The receiver refused the message: the flow ends here (MQTT-4.3.3).
      this.inflight.delete(packetId);
      this.forget(out);
      this.pump();
      return true;
    }
    out.stage = 'release';
    if (this.persistent && out.seq !== 0) this.persistence!.saveMessage(this.clientId, out);
    return true;
  }

  onPubcomp(packetId: number): boolean {
    const out = this.inflight.get(packetId);
    if (!out || out.stage !== 'release') return false;
    this.inflight.delete(packetId);
    this.forget(out);
    this.pump();
    return true;
  }

  /** Restores a stored message (broker restart): in flight ones keep their packet id. */
  restore(out: Outgoing): void {
    if (out.seq >= this.nextSeq) this.nextSeq = out.seq + 1;
    if (out.stage === 'queued') this.queue.push(out);
    else this.inflight.set(out.packetId, out);
  }

  /** Every queued message, for persistence and inspection. */
  queued(): readonly Outgoing[] {
    return this.queue.slice(this.queueHead);
  }

  /** Drops every message and subscription record (a clean start). */
  clear(): void {
    this.inflight.clear();
    this.awaitingRelease.clear();
    this.queue = [];
    this.queueHead = 0;
    this.subscriptions.clear();
  }
}
