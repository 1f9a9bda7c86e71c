// One network client: parses its bytes into packets, hands them to the handlers, and batches
// everything written to it during one tick into a single transport write.
import type { Logger } from '../log.js';
import type { ClientAcl } from './auth/acl.js';
import { createParser, encode, type Packet, type PacketParser, type ProtocolVersion } from './codec.js';
import { readFastPacket } from './fast-path.js';
import type { BrokerLimits, ListenerProtocol } from './config.js';
import type { Transport } from './listeners/transport.js';
import { Reason } from './reason-codes.js';
import type { Session, SessionLink } from './session.js';
import type { BrokerStats } from './stats.js';
import { connectLevel, packetProblem, type PacketProblem } from './validate-packet.js';

/** What a connection's listener allows. */
export interface ListenerPolicy {
  readonly protocol: ListenerProtocol;
  readonly allowAnonymous: boolean;
  readonly certCnAsUsername: boolean;
}

export interface ConnectionHost {
  readonly limits: BrokerLimits;
  readonly stats: BrokerStats;
  readonly log: Logger;
  dispatch(conn: Connection, packet: Packet): void;
  connectionClosed(conn: Connection): void;
  scheduleFlush(conn: Connection): void;
}

export type ConnectionState = 'awaiting-connect' | 'authenticating' | 'open' | 'closing' | 'closed';

/**
 * Unsent bytes above which a connection counts as congested (QoS 0 waits, then is dropped). A
 * gateway's poll arrives as one burst (20 devices x 1,000 tags is ~2.4 MB in the same few ms), and
 * clients that read packet by packet (mosquitto_sub, many C clients) take it over a while: 1 MB
 * dropped ~4% of such a burst. Only a client that falls behind ever holds this much.
 */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Packets (and their payload bytes) a client may send behind its CONNECT before the CONNACK. */
const HELD_PACKETS_LIMIT = 1000;
const HELD_BYTES_LIMIT = 16 * 1024 * 1024;

/** Acknowledgements waiting for the same commit, written together once it resolves. */
interface AckGroup {
  durable: Promise<void> | null;
  acks: { bytes: Buffer; refused: ((err: unknown) => Buffer | null) | undefined }[];
  /** The commit resolved (or failed) and the acks were written: later ones need a new group. */
  settled: boolean;
  done: Promise<void>;
}

export class Connection implements SessionLink {
  state: ConnectionState = 'awaiting-connect';
  version: ProtocolVersion = 4;
  clientId = '';
  username: string | undefined;
  session: Session | null = null;
  /** This client's topic permissions, fixed at CONNECT. */
  acl: ClientAcl | null = null;
  keepaliveMs = 0;
  lastActivity: number;
  readonly openedAt: number;
  sendQuota = 65535;
  maxPacketSize: number;
  /** Topic aliases the client set towards the broker (v5). */
  readonly inboundAliases = new Map<number, string>();
  /** Topic aliases the broker uses towards the client, up to the client's Topic Alias Maximum. */
  outboundAliasMax = 0;
  private readonly outboundAliases = new Map<string, number>();
  /** True once a DISCONNECT asked to end without the will (or the will was already dealt with). */
  willSuppressed = false;
  private readonly parser: PacketParser;
  private readonly held: Packet[] = [];
  private heldBytes = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  flushPending = false;

  constructor(
    readonly transport: Transport,
    readonly listener: ListenerPolicy,
    private readonly host: ConnectionHost,
  ) {
    this.openedAt = Date.now();
    this.lastActivity = this.openedAt;
    this.maxPacketSize = host.limits.maxPacketSize;
    this.parser = createParser();
    this.parser.on('packet', (packet: Packet) => this.onPacket(packet));
    this.parser.on('error', (err: unknown) => this.onParseError(errorText(err)));
    transport.onData((chunk) => this.onData(chunk));
    transport.onDrain(() => this.session?.pump());
    transport.onClose(() => this.onClose());
  }

  private onParseError(message: string): void {
    if (this.state === 'awaiting-connect') {
      // A CONNECT this broker cannot take still gets an answer where the protocol has one.
      if (/protocol ?(version|id)/i.test(message)) {
        this.write(Buffer.from([0x20, 0x02, 0x00, 0x01])); // 3.1.1 CONNACK: unacceptable protocol version
      } else if (
        (this.parser as unknown as { packet: { protocolVersion?: number } }).packet.protocolVersion === 5
      ) {
        this.write(encode({ cmd: 'connack', sessionPresent: false, reasonCode: Reason.MalformedPacket }, 5));
      }
    }
    this.fail(Reason.MalformedPacket, `malformed packet: ${message}`);
  }

  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  /** The start of a packet whose end has not arrived yet. */
  private partial: Buffer | null = null;
  /** When the first byte of `partial` arrived; 0 while no packet is under way. */
  private partialSince = 0;

  /**
   * Since when a started packet (or a transport frame carrying one) has been waiting for its end;
   * 0 when none is. The broker's sweep closes connections past `limits.packetTimeoutMs`.
   */
  packetPendingSince(): number {
    const framing = this.transport.pendingInputSince();
    if (this.partialSince === 0) return framing;
    return framing === 0 ? this.partialSince : Math.min(framing, this.partialSince);
  }

  /**
   * Frames the byte stream into whole packets (so a packet split across reads never sends the
   * rest of the stream down the slow path), then reads each on the fast path or with mqtt-packet.
   */
  private onData(chunk: Buffer): void {
    if (!this.readsInput()) return;
    this.host.stats.bytesReceived += chunk.length;
    this.lastActivity = Date.now();
    try {
      let pos = 0;
      if (this.partial) {
        const joined = Buffer.concat([this.partial, chunk]);
        this.partial = null;
        const total = this.frameLength(joined, 0);
        if (total === null) return;
        if (total < 0 || total > joined.length) {
          // Still incomplete; keep only what this packet needs, so a huge chunk is not held twice.
          this.partial = joined;
          return;
        }
        pos = total - (joined.length - chunk.length);
        this.handleFrame(joined, 0, total);
      }
      while (pos < chunk.length && this.readsInput()) {
        const total = this.frameLength(chunk, pos);
        if (total === null) return;
        if (total < 0 || pos + total > chunk.length) break;
        this.handleFrame(chunk, pos, total);
        pos += total;
      }
      // The unfinished tail is copied: the read buffer it sits in is not kept alive for it.
      if (pos < chunk.length && this.readsInput()) {
        this.partial = Buffer.from(chunk.subarray(pos));
        this.partialSince = this.lastActivity;
      } else {
        this.partialSince = 0;
      }
    } catch (err) {
      // A handler threw on this client's input: that client goes, the broker stays.
      this.host.stats.internalErrors++;
      this.host.log.error({ clientId: this.clientId, err }, 'error while handling a packet');
      this.fail(Reason.ImplementationSpecificError, 'internal error');
    }
  }

  /**
   * Size of the packet starting at `pos`: -1 while its fixed header is incomplete, null when the
   * connection was failed (malformed length, or larger than the maximum packet size).
   */
  private frameLength(buf: Buffer, pos: number): number | null {
    let length = 0;
    let multiplier = 1;
    let i = pos + 1;
    for (let n = 0; ; n++) {
      if (i >= buf.length) return -1;
      const byte = buf[i++]!;
      length += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) break;
      if (n === 3) {
        this.onParseError('remaining length longer than 4 bytes');
        return null;
      }
      multiplier *= 128;
    }
    const total = i - pos + length;
    if (total > this.host.limits.maxPacketSize) {
      this.fail(Reason.PacketTooLarge, `packet of ${total} bytes exceeds ${this.host.limits.maxPacketSize}`);
      return null;
    }
    return total;
  }

  private handleFrame(buf: Buffer, pos: number, total: number): void {
    if (this.state === 'open') {
      const next = readFastPacket(buf, pos, this.version, this.host.limits.maxPacketSize, this.emit);
      if (next === pos + total) return;
    }
    const problem = packetProblem(buf, pos, pos + total, this.version);
    if (problem) return this.refuseFrame(buf, pos, pos + total, problem);
    this.parser.parse(pos === 0 && total === buf.length ? buf : buf.subarray(pos, pos + total));
  }

  private readonly emit = (packet: Packet): void => this.onPacket(packet);

  /** A malformed packet closes the connection; a v5 CONNECT is answered with the reason first. */
  private refuseFrame(buf: Buffer, pos: number, end: number, problem: PacketProblem): void {
    if (this.state === 'awaiting-connect' && buf[pos]! >> 4 === 1 && connectLevel(buf, pos, end) === 5) {
      const properties = { reasonString: problem.why };
      this.write(
        encode({ cmd: 'connack', sessionPresent: false, reasonCode: problem.reasonCode, properties }, 5),
      );
    }
    this.fail(problem.reasonCode, `malformed packet: ${problem.why}`);
  }

  /** Not closing: a handler may have closed the connection in the middle of a chunk. */
  private readsInput(): boolean {
    return this.state !== 'closed' && this.state !== 'closing';
  }

  private onPacket(packet: Packet): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'authenticating') {
      // Packets sent right behind a CONNECT wait for its login check (which may queue): bounded,
      // so a client cannot pile up memory while it waits.
      this.heldBytes += 'payload' in packet && packet.payload ? packet.payload.length + 64 : 64;
      if (this.held.length >= HELD_PACKETS_LIMIT || this.heldBytes > HELD_BYTES_LIMIT) {
        return this.fail(Reason.QuotaExceeded, 'too many packets sent before CONNACK');
      }
      this.held.push(packet);
      return;
    }
    this.host.dispatch(this, packet);
  }

  /** After an accepted CONNECT: the packets that arrived during authentication are handled. */
  opened(): void {
    this.state = 'open';
    while (this.held.length > 0 && this.state === 'open') this.host.dispatch(this, this.held.shift()!);
  }

  /** The last link of the acknowledgement chain, and the acks it will write. */
  private ackTail: AckGroup | null = null;

  /**
   * Writes an acknowledgement once `durable` (pending commits) resolves; acks stay in the order
   * their packets came (MQTT-4.6.0-2) because later ones wait behind earlier ones. When `durable`
   * rejects, `refused` says what to write instead (null: nothing, the client sends again). Acks in
   * a row that wait for the same commit (a group commit's batch) share one link of the chain.
   */
  writeAck(bytes: Buffer, durable: Promise<void> | null, refused?: (err: unknown) => Buffer | null): void {
    const tail = this.ackTail;
    if (!durable && !tail) return this.write(bytes);
    if (tail && !tail.settled && tail.durable === durable) {
      tail.acks.push({ bytes, refused });
      return;
    }
    const group: AckGroup = { durable, acks: [{ bytes, refused }], settled: false, done: null! };
    group.done = (tail?.done ?? Promise.resolve())
      .then(() => durable ?? undefined)
      .then(
        () => {
          group.settled = true;
          for (const ack of group.acks) this.write(ack.bytes);
        },
        (err: unknown) => {
          group.settled = true;
          for (const ack of group.acks) {
            const instead = ack.refused ? ack.refused(err) : null;
            if (instead) this.write(instead);
          }
        },
      )
      .then(() => {
        if (this.ackTail === group) this.ackTail = null;
      });
    this.ackTail = group;
  }

  write(bytes: Buffer): void {
    if (this.state === 'closed') return;
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (!this.flushPending) {
      this.flushPending = true;
      this.host.scheduleFlush(this);
    }
  }

  /** Sends what this tick wrote, in one transport write. */
  flush(): void {
    this.flushPending = false;
    if (this.outBytes === 0 || this.state === 'closed') return;
    const chunks = this.out;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    this.host.stats.bytesSent += bytes;
    this.transport.write(chunks, bytes);
    // Messages queued while this tick's bytes counted as congestion go once the socket took them
    // (a socket that took everything at once never emits 'drain').
    const session = this.session;
    if (session && session.queuedCount > 0 && !this.congested()) setImmediate(() => session.pump());
  }

  aliasFor(topic: string): { alias: number; known: boolean } | null {
    if (this.outboundAliasMax === 0) return null;
    const alias = this.outboundAliases.get(topic);
    if (alias !== undefined) return { alias, known: true };
    // The first topics sent keep their aliases; later ones go out in full.
    if (this.outboundAliases.size >= this.outboundAliasMax) return null;
    const fresh = this.outboundAliases.size + 1;
    this.outboundAliases.set(topic, fresh);
    return { alias: fresh, known: false };
  }

  congested(): boolean {
    return this.outBytes + this.transport.bufferedBytes() > HIGH_WATER_BYTES;
  }

  overflow(): void {
    this.disconnect(Reason.QuotaExceeded, 'message queue full: the client reads too slowly');
  }

  /**
   * Ends the connection from the broker side: a v5 client gets DISCONNECT with the reason first.
   * The will is published unless the client asked otherwise.
   */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.version === 5 && this.state === 'open') {
      this.write(
        encode({ cmd: 'disconnect', reasonCode, properties: reasonString ? { reasonString } : undefined }, 5),
      );
    }
    this.closeAfterFlush();
  }

  /** A protocol violation or malformed input: logged, reason sent where the version has one, closed. */
  fail(reasonCode: number, why: string): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.host.stats.protocolErrors++;
    this.host.log.info(
      { clientId: this.clientId || undefined, address: this.remoteAddress, reasonCode },
      why,
    );
    this.disconnect(reasonCode, why);
  }

  /** Writes the final bytes and closes; a peer that does not read them is cut after 2 s. */
  closeAfterFlush(): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    this.flush();
    this.transport.end();
    setTimeout(() => this.transport.destroy(), 2000).unref();
  }

  /** Closes at once (broker shutdown, takeover of a dead peer). */
  destroy(): void {
    if (this.state === 'closed') return;
    this.flush();
    this.transport.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.out = [];
    this.outBytes = 0;
    this.host.connectionClosed(this);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
