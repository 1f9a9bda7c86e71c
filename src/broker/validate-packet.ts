// Checks of a whole packet's raw bytes that mqtt-packet does not make: it decodes strings leniently
// (invalid UTF-8 becomes U+FFFD, which a client may also send legitimately), accepts wrong
// remaining lengths on the small packets and a QoS 0 PUBLISH with DUP set. Run on every packet
// that takes the full parser (src/broker/fast-path.ts takes only packets that pass these checks),
// before it is parsed. A problem found here makes the packet malformed: the connection is closed.
//
// The string rule (docs/CONFIG.md, "Strings on the wire"): every UTF-8 string must be well-formed
// (so no surrogates) and without U+0000 (MQTT-1.5.4-1/2). Identifiers, that is topic names, topic
// filters, client ids and usernames, must also be free of the control characters U+0001-U+001F
// and U+007F-U+009F, which MQTT says SHOULD NOT be sent and lets a receiver treat as malformed.
import { isUtf8 } from 'node:buffer';
import type { ProtocolVersion } from './codec.js';
import { Reason } from './reason-codes.js';

export interface PacketProblem {
  reasonCode: number;
  why: string;
}

const PACKET_NAMES = [
  'reserved',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
] as const;

/** Thrown by the reader and turned into a problem; never leaves this module. */
class Malformed extends Error {}

const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');

/**
 * Why the string in `buf[start, end)` breaks the string rule, or null. `identifier` adds the
 * control-character rule. ASCII, the usual case, is checked byte by byte without decoding.
 */
export function wireStringProblem(
  buf: Buffer,
  start: number,
  end: number,
  what: string,
  identifier: boolean,
): string | null {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    if (byte >= 0x80) ascii = false;
    else if (byte === 0) return `${what} contains U+0000`;
    else if (identifier && (byte < 0x20 || byte === 0x7f))
      return `${what} contains control character U+${hex(byte)}`;
  }
  if (ascii) return null;
  if (!isUtf8(buf.subarray(start, end))) return `${what} is not well-formed UTF-8`;
  if (identifier) {
    // U+0080-U+009F are C2 80..C2 9F; in well-formed UTF-8, C2 is always a lead byte.
    for (let i = start; i + 1 < end; i++) {
      if (buf[i] === 0xc2 && buf[i + 1]! <= 0x9f)
        return `${what} contains control character U+${hex(buf[i + 1]!)}`;
    }
  }
  return null;
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  need(n: number): void {
    if (this.pos + n > this.end) throw new Malformed('packet ends early');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  varInt(): number {
    let value = 0;
    let multiplier = 1;
    for (let n = 0; n < 4; n++) {
      const byte = this.u8();
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return value;
      multiplier *= 128;
    }
    throw new Malformed('variable byte integer longer than 4 bytes');
  }

  /** A length-prefixed field; returns where its bytes start (they end at `pos`). */
  field(): number {
    const length = this.u16();
    this.need(length);
    const start = this.pos;
    this.pos += length;
    return start;
  }

  /** A length-prefixed UTF-8 string, checked against the string rule. */
  string(what: string, identifier: boolean): number {
    const start = this.field();
    const problem = wireStringProblem(this.buf, start, this.pos, what, identifier);
    if (problem) throw new Malformed(problem);
    return this.pos - start;
  }
}

type PropertyType = 'u8' | 'u16' | 'u32' | 'varint' | 'string' | 'topic' | 'binary' | 'pair';

/** MQTT 5 property identifiers and their encodings (section 2.2.2.2). */
const PROPERTY_TYPES: Record<number, PropertyType> = {
  0x01: 'u8', // payload format indicator
  0x02: 'u32', // message expiry interval
  0x03: 'string', // content type
  0x08: 'topic', // response topic: a topic name
  0x09: 'binary', // correlation data
  0x0b: 'varint', // subscription identifier
  0x11: 'u32', // session expiry interval
  0x12: 'string', // assigned client identifier
  0x13: 'u16', // server keep alive
  0x15: 'string', // authentication method
  0x16: 'binary', // authentication data
  0x17: 'u8', // request problem information
  0x18: 'u32', // will delay interval
  0x19: 'u8', // request response information
  0x1a: 'string', // response information
  0x1c: 'string', // server reference
  0x1f: 'string', // reason string
  0x21: 'u16', // receive maximum
  0x22: 'u16', // topic alias maximum
  0x23: 'u16', // topic alias
  0x24: 'u8', // maximum QoS
  0x25: 'u8', // retain available
  0x26: 'pair', // user property
  0x27: 'u32', // maximum packet size
  0x28: 'u8', // wildcard subscription available
  0x29: 'u8', // subscription identifiers available
  0x2a: 'u8', // shared subscription available
};

/** A v5 property list: its length must match its contents, and its strings the string rule. */
function properties(r: Reader, where: string): void {
  const length = r.varInt();
  r.need(length);
  const end = r.pos + length;
  const inner = new Reader(r.buf, r.pos, end);
  while (inner.pos < end) {
    const id = inner.varInt();
    const type = PROPERTY_TYPES[id];
    switch (type) {
      case 'u8':
        inner.u8();
        break;
      case 'u16':
        inner.u16();
        break;
      case 'u32':
        inner.need(4);
        inner.pos += 4;
        break;
      case 'varint':
        inner.varInt();
        break;
      case 'string':
        inner.string(`${where} property 0x${id.toString(16)}`, false);
        break;
      case 'topic':
        inner.string(`${where} response topic`, true);
        break;
      case 'binary':
        inner.field();
        break;
      case 'pair':
        inner.string(`${where} user property name`, false);
        inner.string(`${where} user property value`, false);
        break;
      default:
        throw new Malformed(`${where} has unknown property 0x${id.toString(16)}`);
    }
  }
  r.pos = end;
}

function connect(r: Reader): void {
  const protocol = r.field();
  const level = r.u8();
  // Anything but MQTT 3.1/3.1.1/5 is mqtt-packet's to refuse (with CONNACK where it can).
  const name = r.buf.toString('latin1', protocol, protocol + 6);
  if (!((level === 3 && name === 'MQIsdp') || ((level === 4 || level === 5) && name.startsWith('MQTT'))))
    return;
  const flags = r.u8();
  r.u16(); // keep alive
  if (level === 5) properties(r, 'CONNECT');
  r.string('client id', true);
  if (flags & 0x04) {
    if (level === 5) properties(r, 'will');
    r.string('will topic', true);
    r.field(); // will payload
  }
  if (flags & 0x80) r.string('username', true);
  if (flags & 0x40) r.field(); // password: binary data
  if (r.pos !== r.end) throw new Malformed(`${r.end - r.pos} bytes after the end of CONNECT`);
}

function publish(r: Reader, first: number, version: ProtocolVersion): void {
  const qos = (first >> 1) & 3;
  if (qos === 3) return; // mqtt-packet refuses it
  if (qos === 0 && (first & 0x08) !== 0) throw new Malformed('QoS 0 PUBLISH with DUP set');
  r.string('topic name', true);
  if (qos > 0) r.u16();
  if (version === 5) properties(r, 'PUBLISH');
}

function subscriptions(r: Reader, version: ProtocolVersion, withOptions: boolean): void {
  const name = withOptions ? 'SUBSCRIBE' : 'UNSUBSCRIBE';
  r.u16(); // packet id
  if (version === 5) properties(r, name);
  while (r.pos < r.end) {
    if (r.string('topic filter', true) === 0) throw new Malformed(`${name} with an empty topic filter`);
    if (withOptions) r.u8();
  }
}

/** PUBACK, PUBREC, PUBREL, PUBCOMP: a packet id; v5 may add a reason code and properties. */
function ack(r: Reader, type: number, version: ProtocolVersion): void {
  const length = r.end - r.pos;
  const name = PACKET_NAMES[type]!;
  if (version !== 5) {
    if (length !== 2) throw new Malformed(`${name} with remaining length ${length}, not 2`);
    return;
  }
  if (length < 2) throw new Malformed(`${name} with remaining length ${length}, less than 2`);
  if (length <= 3) return; // packet id, then perhaps a reason code
  r.pos += 3;
  properties(r, name);
  if (r.pos !== r.end) throw new Malformed(`${name} longer than its properties`);
}

function disconnect(r: Reader, version: ProtocolVersion): void {
  const length = r.end - r.pos;
  if (version !== 5) {
    if (length !== 0) throw new Malformed(`DISCONNECT with remaining length ${length}, not 0`);
    return;
  }
  if (length <= 1) return;
  r.pos += 1;
  properties(r, 'DISCONNECT');
  if (r.pos !== r.end) throw new Malformed('DISCONNECT longer than its properties');
}

/**
 * The problem with the whole packet in `buf[pos, end)`, or null when these checks find none (the
 * full parser may still refuse it). `version` is the connection's; CONNECT carries its own.
 */
export function packetProblem(
  buf: Buffer,
  pos: number,
  end: number,
  version: ProtocolVersion,
): PacketProblem | null {
  const first = buf[pos]!;
  const type = first >> 4;
  let start = pos + 1;
  while (buf[start]! & 0x80) start++;
  const r = new Reader(buf, start + 1, end);
  try {
    switch (type) {
      case 1:
        connect(r);
        break;
      case 3:
        publish(r, first, version);
        break;
      case 4:
      case 5:
      case 6:
      case 7:
        ack(r, type, version);
        break;
      case 8:
        subscriptions(r, version, true);
        break;
      case 10:
        subscriptions(r, version, false);
        break;
      case 12:
        if (end !== r.pos) throw new Malformed(`PINGREQ with remaining length ${end - r.pos}, not 0`);
        break;
      case 14:
        disconnect(r, version);
        break;
    }
  } catch (err) {
    if (!(err instanceof Malformed)) throw err;
    const name = PACKET_NAMES[type]!;
    return {
      reasonCode: Reason.MalformedPacket,
      why: err.message.startsWith(name) ? err.message : `${name}: ${err.message}`,
    };
  }
  return null;
}

/** The protocol level a CONNECT packet asks for (5 gets a CONNACK with a reason), or 0. */
export function connectLevel(buf: Buffer, pos: number, end: number): number {
  let start = pos + 1;
  while (buf[start]! & 0x80) start++;
  if (start + 3 > end) return 0;
  const at = start + 3 + buf.readUInt16BE(start + 1);
  return at < end ? buf[at]! : 0;
}
