// Packet dispatch: which handler a packet goes to, and what is a protocol error in each state.
import { PINGRESP, type Packet } from '../codec.js';
import type { Connection } from '../connection.js';
import type { BrokerCore } from '../core.js';
import { Reason } from '../reason-codes.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePuback, handlePubcomp, handlePubrec } from './acks.js';
import { handlePublish, handlePubrel } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

export function dispatchPacket(core: BrokerCore, conn: Connection, packet: Packet): void {
  if (conn.state === 'awaiting-connect') {
    if (packet.cmd !== 'connect')
      return conn.fail(Reason.ProtocolError, `expected CONNECT, got ${packet.cmd}`);
    void handleConnect(core, conn, packet).catch((err: unknown) => {
      core.stats.internalErrors++;
      core.log.error({ err, clientId: packet.clientId }, 'CONNECT handling failed');
      conn.fail(Reason.ImplementationSpecificError, 'internal error');
    });
    return;
  }
  if (conn.state !== 'open') return;
  if (needsPacketId(packet) && !validPacketId(packet.messageId)) {
    return conn.fail(Reason.MalformedPacket, `${packet.cmd} without a valid packet id`);
  }
  switch (packet.cmd) {
    case 'publish':
      return handlePublish(core, conn, packet);
    case 'puback':
      return handlePuback(conn, packet);
    case 'pubrec':
      return handlePubrec(conn, packet);
    case 'pubrel':
      return handlePubrel(conn, packet);
    case 'pubcomp':
      return handlePubcomp(conn, packet);
    case 'subscribe':
      return handleSubscribe(core, conn, packet);
    case 'unsubscribe':
      return handleUnsubscribe(core, conn, packet);
    case 'pingreq':
      return conn.write(PINGRESP);
    case 'disconnect':
      return handleDisconnect(core, conn, packet);
    case 'connect':
      return conn.fail(Reason.ProtocolError, 'second CONNECT on one connection');
    case 'auth':
      return conn.fail(Reason.ProtocolError, 'AUTH without an authentication method');
    default:
      return conn.fail(Reason.ProtocolError, `a client may not send ${packet.cmd}`);
  }
}

function needsPacketId(packet: Packet): boolean {
  switch (packet.cmd) {
    case 'publish':
      return packet.qos > 0;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'subscribe':
    case 'unsubscribe':
      return true;
    default:
      return false;
  }
}

/** Packet ids are 1..65535; mqtt-packet reports a truncated one as -1 or leaves it out. */
function validPacketId(id: number | undefined): boolean {
  return id !== undefined && Number.isInteger(id) && id >= 1 && id <= 65535;
}
