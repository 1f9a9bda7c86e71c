// Acknowledgements of broker-to-client QoS 1/2 messages: PUBACK, PUBREC, PUBCOMP.
import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import { encodeAck } from '../codec.js';
import type { Connection } from '../connection.js';
import { Reason } from '../reason-codes.js';

export function handlePuback(conn: Connection, packet: IPubackPacket): void {
  // An unknown id is tolerated: it is a late ack of a message already settled before a takeover.
  conn.session?.onPuback(packet.messageId ?? 0);
}

export function handlePubrec(conn: Connection, packet: IPubrecPacket): void {
  const id = packet.messageId ?? 0;
  const known = conn.session?.onPubrec(id, packet.reasonCode ?? 0) ?? false;
  if ((packet.reasonCode ?? 0) >= 0x80) return;
  conn.write(encodeAck('pubrel', id, conn.version, known ? Reason.Success : Reason.PacketIdentifierNotFound));
}

export function handlePubcomp(conn: Connection, packet: IPubcompPacket): void {
  conn.session?.onPubcomp(packet.messageId ?? 0);
}
