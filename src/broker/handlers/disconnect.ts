// DISCONNECT from the client: a clean end (no will, unless v5 reason 0x04 asks for it), and the
// v5 chance to change the session expiry on the way out.
import type { IDisconnectPacket } from 'mqtt-packet';
import type { Connection } from '../connection.js';
import type { BrokerCore } from '../core.js';
import { Reason } from '../reason-codes.js';

export function handleDisconnect(core: BrokerCore, conn: Connection, packet: IDisconnectPacket): void {
  const session = conn.session;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (session && expiry !== undefined) {
    // A session that was to end with its connection may not be made persistent now (MQTT-3.14.2-2).
    if (session.expirySec === 0 && expiry !== 0) {
      return conn.fail(Reason.ProtocolError, 'session expiry set on DISCONNECT after 0 on CONNECT');
    }
    session.expirySec = Math.min(expiry, core.limits.maxSessionExpirySec);
  }
  conn.willSuppressed = (packet.reasonCode ?? 0) !== Reason.DisconnectWithWill;
  conn.closeAfterFlush();
}
