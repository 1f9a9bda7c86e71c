// A lean MQTT 3.1.1 load client for the benchmark: pre-encoded packets, batched writes, a parser
// that only reads what the benchmark needs. Both brokers get exactly the same client.
import net from 'node:net';

export type Qos = 0 | 1 | 2;

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
}

function frame(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, ...varint(body.length)]), body]);
}

export function connectPacket(clientId: string): Buffer {
  return frame(0x10, Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 0]), str(clientId)]));
}

export function subscribePacket(filter: string, qos: Qos): Buffer {
  return frame(0x82, Buffer.concat([Buffer.from([0, 1]), str(filter), Buffer.from([qos])]));
}

/** A PUBLISH whose packet id (QoS 1/2) and first 8 payload bytes (send time) are patched per send. */
export class PublishTemplate {
  readonly bytes: Buffer;
  readonly idOffset: number;
  readonly payloadOffset: number;

  constructor(topic: string, payloadSize: number, qos: Qos) {
    const t = str(topic);
    const rest = t.length + (qos > 0 ? 2 : 0) + payloadSize;
    const head = Buffer.from([0x30 | (qos << 1), ...varint(rest)]);
    this.bytes = Buffer.alloc(head.length + rest, 0x61);
    head.copy(this.bytes, 0);
    t.copy(this.bytes, head.length);
    this.idOffset = head.length + t.length;
    this.payloadOffset = this.idOffset + (qos > 0 ? 2 : 0);
  }

  make(id: number, sentAt: number): Buffer {
    const b = Buffer.from(this.bytes);
    if (this.payloadOffset !== this.idOffset) b.writeUInt16BE(id, this.idOffset);
    b.writeDoubleLE(sentAt, this.payloadOffset);
    return b;
  }
}

const ack = (type: number, id: number): Buffer => Buffer.from([type, 2, id >> 8, id & 255]);

export interface ClientHandlers {
  /** A PUBLISH arrived; `sentAt` is the time the load generator wrote in its payload. */
  onMessage?(sentAt: number): void;
  /** A QoS 1/2 publish of ours completed (PUBACK or PUBCOMP). */
  onComplete?(): void;
}

export class BenchClient {
  private pending: Buffer | null = null;
  private out: Buffer[] = [];
  private flushScheduled = false;
  private waiters: { type: number; resolve: () => void }[] = [];
  handlers: ClientHandlers = {};

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
  }

  static async connect(port: number, clientId: string): Promise<BenchClient> {
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new BenchClient(socket);
    const connack = client.expect(0x20);
    client.send(connectPacket(clientId));
    await connack;
    return client;
  }

  private expect(type: number): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ type, resolve }));
  }

  async subscribe(filter: string, qos: Qos): Promise<void> {
    const suback = this.expect(0x90);
    this.send(subscribePacket(filter, qos));
    await suback;
  }

  send(bytes: Buffer): void {
    this.out.push(bytes);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const chunks = this.out;
      this.out = [];
      this.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, data]) : data;
    let pos = 0;
    for (;;) {
      if (buf.length - pos < 2) break;
      let len = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      while (i < buf.length) {
        const b = buf[i++]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || buf.length - i < len) break;
      this.onPacket(buf[pos]!, buf, i, len);
      pos = i + len;
    }
    this.pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : null;
    buf = Buffer.alloc(0);
  }

  private onPacket(header: number, buf: Buffer, at: number, len: number): void {
    const type = header & 0xf0;
    switch (type) {
      case 0x30: {
        const qos = (header >> 1) & 3;
        const topicLen = buf.readUInt16BE(at);
        let p = at + 2 + topicLen;
        let id = 0;
        if (qos > 0) {
          id = buf.readUInt16BE(p);
          p += 2;
        }
        const sentAt = at + len - p >= 8 ? buf.readDoubleLE(p) : 0;
        if (qos === 1) this.send(ack(0x40, id));
        else if (qos === 2) this.send(ack(0x50, id));
        this.handlers.onMessage?.(sentAt);
        return;
      }
      case 0x40: // PUBACK
      case 0x70: // PUBCOMP
        this.handlers.onComplete?.();
        return;
      case 0x50: // PUBREC: release it
        this.send(ack(0x62, buf.readUInt16BE(at)));
        return;
      case 0x60: // PUBREL from the broker: complete it
        this.send(ack(0x70, buf.readUInt16BE(at)));
        return;
      default: {
        const w = this.waiters.findIndex((x) => x.type === type);
        if (w >= 0) this.waiters.splice(w, 1)[0]!.resolve();
      }
    }
  }
}
