// Acknowledgements of broker-to-client QoS 1/2 messages: PUBACK, PUBREC, PUBCOMP.
import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import { encodeAck } from '../codec.js';
import type { Connection } from '../connection.js';
import { Reason } from '../reason-codes.js';

type AckKind = 'puback' | 'pubrec' | 'pubcomp';

/**
 * An ack that answers a message at another step of its flow (PUBACK for QoS 2, PUBCOMP for QoS 1
 * or before PUBREC, PUBREC for QoS 1) is a protocol error: the connection is closed (v5: 0x82).
 * A PUBREC repeated after PUBREL is allowed: PUBREL goes again. An unknown id is tolerated: it is
 * a late ack of a message already settled before a takeover.
 */
function outOfStep(conn: Connection, kind: AckKind, id: number): boolean {
  const expected = conn.session?.expectedAck(id) ?? null;
  if (expected === null || expected === kind || (kind === 'pubrec' && expected === 'pubcomp')) return false;
  conn.fail(
    Reason.ProtocolError,
    `${kind.toUpperCase()} for packet ${id}, which waits for ${expected.toUpperCase()}`,
  );
  return true;
}

export function handlePuback(conn: Connection, packet: IPubackPacket): void {
  const id = packet.messageId ?? 0;
  if (outOfStep(conn, 'puback', id)) return;
  conn.session?.onPuback(id);
}

export function handlePubrec(conn: Connection, packet: IPubrecPacket): void {
  const id = packet.messageId ?? 0;
  if (outOfStep(conn, 'pubrec', id)) return;
  const known = conn.session?.onPubrec(id, packet.reasonCode ?? 0) ?? false;
  if ((packet.reasonCode ?? 0) >= 0x80) return;
  conn.write(encodeAck('pubrel', id, conn.version, known ? Reason.Success : Reason.PacketIdentifierNotFound));
}

export function handlePubcomp(conn: Connection, packet: IPubcompPacket): void {
  const id = packet.messageId ?? 0;
  if (outOfStep(conn, 'pubcomp', id)) return;
  conn.session?.onPubcomp(id);
}
