// The wire codec: mqtt-packet parses and generates every packet of MQTT 3.1, 3.1.1 and 5.0.
// PUBLISH, the hot path, is generated here directly when it carries no v5 properties (the same
// bytes mqtt-packet would write, with one allocation), and its packet id can be patched into a
// shared encoding so one message is encoded once for all its subscribers.
import mqttPacket from 'mqtt-packet';
import type { Packet, IPublishPacket } from 'mqtt-packet';

export type { Packet };
export type ProtocolVersion = 3 | 4 | 5;
export type PacketParser = ReturnType<typeof mqttPacket.parser>;
export type PublishProperties = NonNullable<IPublishPacket['properties']>;

// mqtt-packet otherwise fills a cache of 65,536 two-byte Buffers (one per 16-bit number) on its
// first generate: 6 MB of heap for the gateway's life, to save an allocation on packets that are
// not on the hot path here (PUBLISH is encoded below).
mqttPacket.writeToStream.cacheNumbers = false;

export function createParser(): PacketParser {
  return mqttPacket.parser({ protocolVersion: 4 });
}

/** Encodes any packet; throws when mqtt-packet finds it invalid. */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: version });
}

/** Bytes of an MQTT variable byte integer (remaining length, property lengths). */
export function varIntSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** Writes `n` as an MQTT variable byte integer at `pos`; returns the position after it. */
export function writeVarInt(buf: Buffer, pos: number, n: number): number {
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (n > 0);
  return pos;
}

function hasProperties(properties: PublishProperties | undefined): properties is PublishProperties {
  if (!properties) return false;
  for (const key in properties) if (properties[key as keyof PublishProperties] !== undefined) return true;
  return false;
}

export interface EncodedPublish {
  bytes: Buffer;
  /** Offset of the 2-byte packet id (QoS 1/2 only). */
  packetIdOffset: number;
}

export function encodePublish(
  topic: string,
  payload: Buffer,
  qos: 0 | 1 | 2,
  retain: boolean,
  version: ProtocolVersion,
  properties: PublishProperties | undefined,
  packetId = 0,
): EncodedPublish {
  const topicLength = Buffer.byteLength(topic);
  if (version === 5 && hasProperties(properties)) {
    const bytes = encode(
      {
        cmd: 'publish',
        topic,
        payload,
        qos,
        retain,
        dup: false,
        messageId: qos > 0 ? packetId : undefined,
        properties,
      },
      5,
    );
    let lengthBytes = 1;
    while ((bytes[lengthBytes]! & 0x80) !== 0) lengthBytes++;
    return { bytes, packetIdOffset: 1 + lengthBytes + 2 + topicLength };
  }
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  const bytes = Buffer.allocUnsafe(1 + varIntSize(remaining) + remaining);
  bytes[0] = 0x30 | (qos << 1) | (retain ? 1 : 0);
  let pos = writeVarInt(bytes, 1, remaining);
  bytes.writeUInt16BE(topicLength, pos);
  pos += 2;
  pos += bytes.write(topic, pos, 'utf8');
  const packetIdOffset = pos;
  if (qos > 0) {
    bytes.writeUInt16BE(packetId, pos);
    pos += 2;
  }
  if (version === 5) bytes[pos++] = 0;
  payload.copy(bytes, pos);
  return { bytes, packetIdOffset };
}

/** A copy of a shared QoS 1/2 encoding with this subscriber's packet id (and DUP on a resend). */
export function withPacketId(encoded: EncodedPublish, packetId: number, dup: boolean): Buffer {
  const copy = Buffer.allocUnsafe(encoded.bytes.length);
  encoded.bytes.copy(copy);
  copy.writeUInt16BE(packetId, encoded.packetIdOffset);
  if (dup) copy[0] = copy[0]! | 0x08;
  return copy;
}

const ACK_TYPES = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/** PUBACK/PUBREC/PUBREL/PUBCOMP: four bytes when the reason is success (valid in both versions). */
export function encodeAck(
  kind: keyof typeof ACK_TYPES,
  packetId: number,
  version: ProtocolVersion,
  reasonCode = 0,
  reasonString?: string,
): Buffer {
  if (version === 5 && (reasonCode !== 0 || reasonString)) {
    return encode(
      { cmd: kind, messageId: packetId, reasonCode, properties: reasonString ? { reasonString } : undefined },
      5,
    );
  }
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = ACK_TYPES[kind];
  bytes[1] = 2;
  bytes.writeUInt16BE(packetId, 2);
  return bytes;
}

export const PINGRESP = Buffer.from([0xd0, 0x00]);
