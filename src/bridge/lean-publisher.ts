// The forwarder's publishes, written straight to the upstream socket. MQTT.js still owns the
// connection (connect, TLS/WebSocket, keep alive, subscriptions, the `in` messages, the status
// messages); what it no longer does per forwarded message is copy the packet for its store, queue
// a callback, write the packet in six pieces and look the acknowledgement up in its store. A tick's
// packets are encoded into one buffer, one socket write; PUBACK, PUBREC and PUBCOMP are matched by
// packet id from MQTT.js's `packetreceive` event (MQTT.js ignores acks of ids it did not send). The
// packet ids are split so the two never collide: the lean path uses 1..LEAN_MAX_ID, MQTT.js (given
// `mqttJsIdProvider`) the ids above.
import type { IClientOptions, MqttClient } from 'mqtt';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import type { Readable } from 'node:stream';
import { encodePublish, varIntSize, writeVarInt } from '../broker/codec.js';
import { interceptAcks } from './ack-reader.js';
import type { PublishFn } from './forwarder.js';
import type { StoredMessage } from './outbox/outbox.js';
import { MessageExpiredError, toPublishProperties } from './publish.js';

/** Highest packet id of the lean path; MQTT.js takes LEAN_MAX_ID + 1 .. 65535. */
export const LEAN_MAX_ID = 61_439;
const FIRST_SLAB = 16 * 1024;

type Done = (err?: Error) => void;
type AckName = 'puback' | 'pubrec' | 'pubcomp';
const ACK_NAMES = { 0x40: 'puback', 0x50: 'pubrec', 0x70: 'pubcomp' } as const;

/** The upstream refused a message in its PUBACK or PUBREC (MQTT 5 reason code 0x80 or above). */
export class PublishRefusedError extends Error {
  constructor(
    readonly reasonCode: number,
    topic: string,
    ack: 'puback' | 'pubrec',
  ) {
    super(
      `the upstream refused the message on ${topic} (${ack.toUpperCase()} reason code 0x${reasonCode.toString(16)})`,
    );
  }
}

/** MQTT.js's packet ids for its own publishes and subscriptions: above the lean path's. */
export function mqttJsIdProvider(): NonNullable<IClientOptions['messageIdProvider']> {
  const first = LEAN_MAX_ID + 1;
  let next = first;
  let last = 0;
  return {
    allocate: () => {
      last = next;
      next = next === 65_535 ? first : next + 1;
      return last;
    },
    getLastAllocated: () => (last === 0 ? null : last),
    register: (id: number) => id > LEAN_MAX_ID,
    deallocate: () => undefined,
    clear: () => undefined,
  };
}

export class LeanPublisher {
  /** Callbacks of QoS 1 and 2 publishes awaiting their last ack, by packet id (and their topics, for errors). */
  private readonly awaiting: (Done | undefined)[];
  private readonly topics: (string | undefined)[];
  private nextId = 1;
  private waiting = 0;
  /** This tick's encoded packets, and the QoS 0 callbacks to call once they are written. */
  private slab: Buffer | undefined;
  private used = 0;
  private written: Done[] = [];
  private flushQueued = false;
  private closed = false;
  constructor(
    private readonly client: MqttClient,
    private readonly protocolVersion: 4 | 5,
    /** Highest packet id used (LEAN_MAX_ID; tests take fewer, to see the ids wrap). */
    private readonly maxId = LEAN_MAX_ID,
  ) {
    this.awaiting = new Array<Done | undefined>(maxId + 1);
    this.topics = new Array<string | undefined>(maxId + 1);
    // Acks are read off the socket before MQTT.js parses them (ack-reader.ts); the few it does
    // see (one cut between two reads, or a stream the reader cannot sit on) come through here.
    interceptAcks(client.stream as unknown as Readable, maxId, (type, id, reasonCode) =>
      this.acknowledged(ACK_NAMES[type], id, reasonCode),
    );
    client.on('packetreceive', (packet: Packet) => {
      if (packet.cmd === 'puback' || packet.cmd === 'pubrec' || packet.cmd === 'pubcomp')
        this.acknowledged(packet.cmd, packet.messageId ?? 0, packet.reasonCode ?? 0);
    });
    // The forwarder requeues what was in flight when the connection goes; nothing here is owed.
    client.once('close', () => {
      this.closed = true;
      this.awaiting.fill(undefined);
      this.topics.fill(undefined);
      this.waiting = 0;
      this.slab = undefined;
      this.written = [];
    });
  }

  readonly publish: PublishFn = (msg, done) => {
    if (this.closed) return; // the close handler requeues it
    let properties: IPublishPacket['properties'];
    if (this.protocolVersion === 5 && msg.properties) {
      const props = toPublishProperties(msg.properties, msg.ts);
      if (props === 'expired') {
        done(new MessageExpiredError(`message on ${msg.topic} expired in the outbox`));
        return;
      }
      properties = props;
    }
    let id = 0;
    if (msg.qos > 0) {
      id = this.allocate(msg.topic, done);
      if (id === 0) {
        done(new Error(`more than ${this.capacity} messages await a PUBACK`));
        return;
      }
    }
    if (properties)
      this.append(encodePublish(msg.topic, msg.payload, msg.qos, msg.retain, 5, properties, id).bytes);
    else this.encode(msg, id);
    if (msg.qos === 0) this.written.push(done);
    this.scheduleFlush();
  };

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(() => this.flush());
  }

  /** Most messages awaiting an acknowledgement at once: the lean path's share of the packet ids. */
  get capacity(): number {
    return this.maxId;
  }

  get inflight(): number {
    return this.waiting;
  }

  private allocate(topic: string, done: Done): number {
    if (this.waiting >= this.capacity) return 0;
    let id = this.nextId;
    while (this.awaiting[id] !== undefined) id = id === this.maxId ? 1 : id + 1;
    this.nextId = id === this.maxId ? 1 : id + 1;
    this.awaiting[id] = done;
    this.topics[id] = topic;
    this.waiting++;
    return id;
  }

  private acknowledged(cmd: AckName, id: number, code: number): void {
    if (id === 0 || id > this.maxId) return; // MQTT.js's own
    const done = this.awaiting[id];
    if (!done) return;
    // QoS 2: a PUBREC that accepts is answered with a PUBREL; the PUBCOMP ends the exchange.
    if (cmd === 'pubrec' && code < 0x80) {
      const slab = this.room(4);
      slab[this.used] = 0x62;
      slab[this.used + 1] = 2;
      slab[this.used + 2] = id >> 8;
      slab[this.used + 3] = id & 0xff;
      this.used += 4;
      this.scheduleFlush();
      return;
    }
    const topic = this.topics[id]!;
    this.awaiting[id] = undefined;
    this.topics[id] = undefined;
    this.waiting--;
    // 16 (no matching subscribers) is still a success.
    done(code >= 0x80 && cmd !== 'pubcomp' ? new PublishRefusedError(code, topic, cmd) : undefined);
  }

  /** A PUBLISH without properties, written into this tick's buffer (the bytes encodePublish writes). */
  private encode(msg: StoredMessage, id: number): void {
    const topicLength = Buffer.byteLength(msg.topic);
    const v5 = this.protocolVersion === 5;
    const remaining = 2 + topicLength + (id > 0 ? 2 : 0) + (v5 ? 1 : 0) + msg.payload.length;
    const size = 1 + varIntSize(remaining) + remaining;
    const slab = this.room(size);
    let pos = this.used;
    slab[pos++] = 0x30 | (msg.qos << 1) | (msg.retain ? 1 : 0);
    pos = writeVarInt(slab, pos, remaining);
    slab[pos++] = topicLength >> 8;
    slab[pos++] = topicLength & 0xff;
    pos += slab.write(msg.topic, pos, 'utf8');
    if (id > 0) {
      slab[pos++] = id >> 8;
      slab[pos++] = id & 0xff;
    }
    if (v5) slab[pos++] = 0;
    pos += msg.payload.copy(slab, pos);
    this.used = pos;
  }

  private append(bytes: Buffer): void {
    const slab = this.room(bytes.length);
    this.used += bytes.copy(slab, this.used);
  }

  /** This tick's buffer with room for `size` more bytes. */
  private room(size: number): Buffer {
    const slab = this.slab;
    if (slab && this.used + size <= slab.length) return slab;
    const grown = Buffer.allocUnsafe(Math.max(FIRST_SLAB, (this.used + size) * 2));
    if (slab) slab.copy(grown, 0, 0, this.used);
    this.slab = grown;
    return grown;
  }

  private flush(): void {
    this.flushQueued = false;
    const slab = this.slab;
    const used = this.used;
    const written = this.written;
    this.slab = undefined;
    this.used = 0;
    this.written = [];
    const stream = this.client.stream;
    if (this.closed || !slab || used === 0 || stream.destroyed || !stream.writable) return;
    // The socket keeps the buffer until it is sent: the next tick encodes into a new one.
    stream.write(slab.subarray(0, used));
    for (const done of written) done();
  }
}
