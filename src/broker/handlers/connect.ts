// CONNECT: limits, client id, authentication, takeover of a connected client id, the session
// (clean or resumed), keep alive, the will, and CONNACK with the v5 capabilities of this broker.
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { MessageProperties, QoS } from '../api.js';
import { encode, type ProtocolVersion } from '../codec.js';
import type { Connection } from '../connection.js';
import type { BrokerCore } from '../core.js';
import { Reason, v3ConnackCode } from '../reason-codes.js';
import type { Session } from '../session.js';
import { topicNameProblem } from '../topics/validate.js';
import type { PendingWill } from '../will.js';

type ConnackProperties = NonNullable<IConnackPacket['properties']>;

function connack(
  version: ProtocolVersion,
  reasonCode: number,
  sessionPresent: boolean,
  properties?: ConnackProperties,
): Buffer {
  if (version === 5) return encode({ cmd: 'connack', sessionPresent, reasonCode, properties }, 5);
  return encode({ cmd: 'connack', sessionPresent, returnCode: v3ConnackCode(reasonCode) }, version);
}

export async function handleConnect(
  core: BrokerCore,
  conn: Connection,
  packet: IConnectPacket,
): Promise<void> {
  const version = (packet.protocolVersion ?? 4) as ProtocolVersion;
  const v5 = version === 5;
  const limits = core.limits;
  conn.version = version;
  conn.state = 'authenticating';

  const refuse = (reasonCode: number, why: string, logged = false): void => {
    core.stats.connectionsRefused++;
    if (!logged)
      core.log.info(
        { clientId: packet.clientId, address: conn.remoteAddress, reasonCode },
        `connection refused: ${why}`,
      );
    const reasonString = v5 ? { reasonString: why } : undefined;
    conn.write(connack(version, reasonCode, false, reasonString));
    conn.closeAfterFlush();
  };

  const waitMs = core.connectRate.admit(conn.remoteAddress, Date.now());
  if (waitMs === null) {
    return refuse(
      Reason.ConnectionRateExceeded,
      `more than ${limits.connectRatePerAddress} CONNECTs/s from this address`,
    );
  }
  if (waitMs > 0) {
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (conn.state !== 'authenticating') {
      core.connectRate.release(conn.remoteAddress); // the client went away before its turn
      return;
    }
  }
  if (core.connections.size > limits.maxConnections) {
    return refuse(Reason.ServerBusy, `connection limit ${limits.maxConnections} reached`);
  }
  if (v5 && packet.properties?.authenticationMethod !== undefined) {
    return refuse(Reason.BadAuthenticationMethod, 'enhanced authentication is not supported');
  }
  const clean = packet.clean !== false;
  let clientId = packet.clientId;
  let assignedClientId: string | undefined;
  // Its bytes were checked against the string rule before parsing (validate-packet.ts).
  if (clientId === '') {
    // 3.1 needs an id; 3.1.1 allows an empty one only with a clean session (MQTT-3.1.3-7).
    if (version === 3 || (version === 4 && !clean)) {
      return refuse(Reason.ClientIdentifierNotValid, 'empty client id with a persistent session');
    }
    clientId = assignedClientId = `tagwire-${randomUUID()}`;
  }
  const will = packet.will;
  if (will) {
    const problem = topicNameProblem(will.topic, limits);
    if (problem) return refuse(Reason.TopicNameInvalid, `will ${problem}`);
    const payload = typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload;
    if (v5 && will.properties?.payloadFormatIndicator && !isUtf8(payload)) {
      return refuse(Reason.PayloadFormatInvalid, 'will payload is marked UTF-8 but is not');
    }
  }

  const auth = await core.auth.check({
    username: packet.username,
    password: packet.password,
    listener: conn.listener,
    peerCommonName: conn.transport.peerCommonName,
    address: conn.remoteAddress,
  });
  if (conn.state !== 'authenticating') return; // the client went away meanwhile
  // Login failures are logged by the authenticator, rate-limited: a flood is a few lines.
  if (!auth.ok) return refuse(auth.reasonCode, auth.why, true);
  const username = auth.username;
  conn.clientId = clientId;
  conn.username = username;
  conn.acl = core.acl.forClient({ username, clientId });

  const { session, present } = takeSession(core, clientId, username, version, clean);
  const requestedExpiry = v5
    ? (packet.properties?.sessionExpiryInterval ?? 0)
    : clean
      ? 0
      : limits.maxSessionExpirySec;
  session.expirySec = Math.min(requestedExpiry, limits.maxSessionExpirySec);
  session.username = username;
  session.version = version;
  if (will) session.will = pendingWill(will, v5, clientId, username);

  let keepalive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  // A v5 client asking for more than the maximum, or for none (0), is told the maximum: a dead
  // peer is then noticed within 1.5 times it. v3 clients cannot be told, so they keep theirs.
  if (v5 && (keepalive === 0 || keepalive > limits.maxKeepAliveSec))
    keepalive = serverKeepAlive = limits.maxKeepAliveSec;
  conn.keepaliveMs = keepalive * 1000;
  conn.sendQuota = Math.min(packet.properties?.receiveMaximum ?? 65535, limits.receiveMaximum);
  conn.maxPacketSize = packet.properties?.maximumPacketSize ?? Number.MAX_SAFE_INTEGER;
  conn.outboundAliasMax = v5 ? (packet.properties?.topicAliasMaximum ?? 0) : 0;

  const properties: ConnackProperties | undefined = v5
    ? {
        receiveMaximum: limits.receiveMaximum,
        maximumPacketSize: limits.maxPacketSize,
        topicAliasMaximum: limits.topicAliasMaximum,
        retainAvailable: true,
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: true,
        sharedSubscriptionAvailable: true,
        ...(assignedClientId !== undefined && { assignedClientIdentifier: assignedClientId }),
        ...(serverKeepAlive !== undefined && { serverKeepAlive }),
        ...(requestedExpiry !== session.expirySec && { sessionExpiryInterval: session.expirySec }),
      }
    : undefined;
  conn.write(connack(version, Reason.Success, present, properties));
  conn.session = session;
  core.stats.connectionsAccepted++;
  core.saveSession(session);
  session.attach(conn);
  conn.opened();
}

/**
 * The session for a new connection. A connected client with the same id is disconnected
 * (takeover). The stored session is resumed when the client asks for it and is the same user;
 * otherwise it ends here and a fresh one starts.
 */
function takeSession(
  core: BrokerCore,
  clientId: string,
  username: string | undefined,
  version: ProtocolVersion,
  clean: boolean,
): { session: Session; present: boolean } {
  const existing = core.sessions.get(clientId);
  if (existing?.link) {
    const old = existing.link as Connection;
    const oldWill = existing.will;
    existing.will = null;
    existing.detach();
    old.session = null;
    old.disconnect(Reason.SessionTakenOver, 'another connection took over this client id');
    // The old will goes out unless the session continues before its delay (MQTT-3.1.3-9).
    const resumes = !clean && existing.username === username && existing.expirySec > 0;
    if (oldWill && (!resumes || oldWill.delaySec === 0)) core.sendWill(oldWill);
    if (!resumes) core.discardSession(existing);
  }
  const stored = core.sessions.get(clientId);
  if (stored && !clean && stored.username === username) {
    core.cancelWill(stored);
    return { session: stored, present: true };
  }
  if (stored) {
    const pending = stored.will;
    core.cancelWill(stored);
    if (pending) core.sendWill(pending);
    core.discardSession(stored);
  }
  return { session: core.newSession(clientId, version), present: false };
}

function pendingWill(
  will: NonNullable<IConnectPacket['will']>,
  v5: boolean,
  clientId: string,
  username: string | undefined,
): PendingWill {
  const props = v5 ? will.properties : undefined;
  let properties: MessageProperties | undefined;
  if (props) {
    const { willDelayInterval: _delay, ...rest } = props;
    if (Object.values(rest).some((v) => v !== undefined)) properties = rest;
  }
  return {
    topic: will.topic,
    payload: typeof will.payload === 'string' ? Buffer.from(will.payload) : will.payload,
    qos: (will.qos ?? 0) as QoS,
    retain: will.retain === true,
    properties,
    delaySec: props?.willDelayInterval ?? 0,
    origin: { kind: 'client', clientId, username },
    username,
    clientId,
    timer: null,
  };
}
