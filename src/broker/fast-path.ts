// The hot packets read straight from the socket buffer: PUBLISH without v5 properties, the
// four-byte acknowledgements and PINGREQ. They make up nearly all traffic of a running broker;
// everything else (and anything unusual about these) goes through mqtt-packet's full parser.
// Each check below only decides whether the fast path applies: when in doubt it declines, and the
// full path (the raw checks of validate-packet.ts, then mqtt-packet) accepts or rejects the bytes.
// So nothing taken here may be a packet those checks would refuse: acknowledgements of exactly the
// lengths MQTT allows, PINGREQ of length 0, PUBLISH with a topic that keeps the string rule and no QoS 0 DUP.
import type { Packet, ProtocolVersion } from './codec.js';
import { wireStringProblem } from './validate-packet.js';

const ACKS: Record<number, 'puback' | 'pubrec' | 'pubcomp'> = {
  0x40: 'puback',
  0x50: 'pubrec',
  0x70: 'pubcomp',
};

/**
 * Reads one packet at `pos` if it is one the fast path takes, hands it to `emit`, and returns where
 * the next packet starts; returns -1 (nothing consumed) otherwise.
 */
export function readFastPacket(
  buf: Buffer,
  pos: number,
  version: ProtocolVersion,
  maxPacketSize: number,
  emit: (packet: Packet) => void,
): number {
  const available = buf.length - pos;
  if (available < 2) return -1;
  const first = buf[pos]!;
  if (first >> 4 !== 3) {
    const ack = ACKS[first];
    if (ack !== undefined && available >= 4) {
      const length = buf[pos + 1]!;
      if (length === 2) {
        emit({ cmd: ack, messageId: buf.readUInt16BE(pos + 2) });
        return pos + 4;
      }
      // v5: a reason code, then an empty property list or none.
      if (version === 5 && (length === 3 || (length === 4 && available >= 6 && buf[pos + 5] === 0))) {
        if (available < 2 + length) return -1;
        emit({ cmd: ack, messageId: buf.readUInt16BE(pos + 2), reasonCode: buf[pos + 4]! });
        return pos + 2 + length;
      }
    }
    if (first === 0xc0 && buf[pos + 1] === 0) {
      emit({ cmd: 'pingreq' });
      return pos + 2;
    }
    return -1;
  }
  const qos = (first >> 1) & 3;
  // QoS 3 and a QoS 0 message with DUP set are malformed: the full path refuses them.
  if (qos === 3 || (qos === 0 && (first & 8) === 8)) return -1;
  let length = 0;
  let multiplier = 1;
  let i = pos + 1;
  for (let n = 0; ; n++) {
    if (n === 4 || i >= buf.length) return -1;
    const byte = buf[i++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
  }
  const end = i + length;
  if (end > buf.length || length > maxPacketSize || length < 2) return -1;
  const topicLength = buf.readUInt16BE(i);
  let p = i + 2 + topicLength;
  if (p > end) return -1;
  // A topic breaking the string rule takes the full path, which closes the connection. Printable
  // ASCII, the usual topic, is told apart in one pass and decoded as such.
  let ascii = true;
  for (let t = i + 2; t < p; t++) {
    const byte = buf[t]!;
    if (byte < 0x20 || byte === 0x7f) return -1;
    if (byte > 0x7f) ascii = false;
  }
  if (!ascii && wireStringProblem(buf, i + 2, p, 'topic name', true) !== null) return -1;
  const topic = buf.toString(ascii ? 'latin1' : 'utf8', i + 2, p);
  let messageId: number | undefined;
  if (qos > 0) {
    if (p + 2 > end) return -1;
    messageId = buf.readUInt16BE(p);
    p += 2;
  }
  if (version === 5) {
    // Property length 0 only; a message with properties takes the full parser.
    if (p >= end || buf[p] !== 0) return -1;
    p += 1;
  }
  emit({
    cmd: 'publish',
    topic,
    payload: buf.subarray(p, end),
    qos: qos as 0 | 1 | 2,
    retain: (first & 1) === 1,
    dup: (first & 8) === 8,
    messageId,
    length,
  });
  return end;
}
