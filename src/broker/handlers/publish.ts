// PUBLISH from a client (QoS 0, 1, 2 with its acknowledgements) and PUBREL ending a QoS 2 flow.
import { isUtf8 } from 'node:buffer';
import type { IPublishPacket, IPubrelPacket } from 'mqtt-packet';
import { NotStoredError, type MessageProperties } from '../api.js';
import { encodeAck, type PublishProperties } from '../codec.js';
import type { Connection } from '../connection.js';
import type { BrokerCore } from '../core.js';
import { Reason } from '../reason-codes.js';
import { topicNameProblem } from '../topics/validate.js';

export function handlePublish(core: BrokerCore, conn: Connection, packet: IPublishPacket): void {
  const session = conn.session!;
  const qos = packet.qos;
  const id = packet.messageId ?? 0;
  const props = conn.version === 5 ? packet.properties : undefined;
  let topic = packet.topic;

  if (props?.topicAlias !== undefined) {
    const alias = props.topicAlias;
    if (alias === 0 || alias > core.limits.topicAliasMaximum) {
      return conn.fail(
        Reason.TopicAliasInvalid,
        `topic alias ${alias} outside 1..${core.limits.topicAliasMaximum}`,
      );
    }
    if (topic.length === 0) {
      const known = conn.inboundAliases.get(alias);
      if (known === undefined) return conn.fail(Reason.ProtocolError, `topic alias ${alias} was never set`);
      topic = known;
    } else {
      conn.inboundAliases.set(alias, topic);
    }
  }
  const problem = topicNameProblem(topic, core.limits);
  if (problem) return conn.fail(Reason.TopicNameInvalid, `PUBLISH: ${problem}`);
  if (props?.subscriptionIdentifier !== undefined) {
    return conn.fail(Reason.ProtocolError, 'a client may not send a subscription identifier');
  }

  if (qos === 2) {
    // A resent QoS 2 message already taken is acknowledged again, not delivered twice.
    if (session.awaitingRelease.has(id)) return conn.writeAck(encodeAck('pubrec', id, conn.version), null);
    // Only v5 clients were told the Receive Maximum; v3 ones are bounded by the 16-bit ids.
    if (conn.version === 5 && session.awaitingRelease.size >= core.limits.receiveMaximum) {
      return conn.fail(
        Reason.ReceiveMaximumExceeded,
        `more than ${core.limits.receiveMaximum} QoS 2 messages unreleased`,
      );
    }
  }

  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  if (props?.payloadFormatIndicator && !isUtf8(payload)) {
    return refuse(conn, qos, id, Reason.PayloadFormatInvalid, 'payload is marked UTF-8 but is not');
  }
  if (!conn.acl!.mayPublish(topic)) {
    core.stats.publishDenied++;
    core.log.info({ clientId: conn.clientId, username: conn.username, topic }, 'publish denied by the ACL');
    return refuse(conn, qos, id, Reason.NotAuthorized, 'not authorized');
  }

  const expiry = props?.messageExpiryInterval;
  const commits: Promise<void>[] | undefined = qos === 0 ? undefined : [];
  core.publish(
    {
      topic,
      payload,
      qos,
      retain: packet.retain,
      properties: props ? messageProperties(props) : undefined,
      origin: { kind: 'client', clientId: conn.clientId, username: conn.username },
      expiresAt: expiry !== undefined && expiry > 0 ? Date.now() + expiry * 1000 : 0,
      publisher: session,
    },
    commits,
  );
  if (!commits) return;
  // Acknowledged means stored: every durable destination (persistent sessions, retained store,
  // bridge outboxes) has the message on disk before the PUBACK/PUBREC leaves.
  const sessions = core.persistence?.durable();
  if (sessions) commits.push(sessions);
  const durable = commits.length === 0 ? null : commits.length === 1 ? commits[0]! : allCommitted(commits);
  const kind = qos === 1 ? 'puback' : 'pubrec';
  if (qos === 2) session.awaitingRelease.add(id);
  conn.writeAck(encodeAck(kind, id, conn.version), durable, (err) => {
    // Not stored: not acknowledged. A resent QoS 2 message must be taken afresh, not re-acked.
    if (qos === 2) session.awaitingRelease.delete(id);
    core.stats.publishNotStored++;
    if (conn.version !== 5) return null; // MQTT 3.1.1 has no negative PUBACK: the client sends again
    const quota = err instanceof NotStoredError && err.reason === 'quota';
    // The reason string only where it fits the client's Maximum Packet Size (MQTT-3.4.2-2).
    const why =
      conn.maxPacketSize >= 160
        ? (err instanceof Error ? err.message : 'not stored').slice(0, 120)
        : undefined;
    return encodeAck(kind, id, 5, quota ? Reason.QuotaExceeded : Reason.UnspecifiedError, why);
  });
}

function allCommitted(commits: Promise<void>[]): Promise<void> {
  return Promise.all(commits).then(() => undefined);
}

/** A publish the broker will not take: v5 says why in the ack; v3 gets a plain ack (it has no way to say no). */
function refuse(conn: Connection, qos: number, id: number, reasonCode: number, why: string): void {
  if (qos === 0) return;
  const code = conn.version === 5 ? reasonCode : Reason.Success;
  conn.writeAck(
    encodeAck(qos === 1 ? 'puback' : 'pubrec', id, conn.version, code, conn.version === 5 ? why : undefined),
    null,
  );
}

const CARRIED = [
  'payloadFormatIndicator',
  'contentType',
  'messageExpiryInterval',
  'responseTopic',
  'correlationData',
  'userProperties',
] as const satisfies readonly (keyof MessageProperties & keyof PublishProperties)[];

/** The v5 properties a message carries to its subscribers (not the alias, which is per connection). */
function messageProperties(p: PublishProperties): MessageProperties | undefined {
  let out: MessageProperties | undefined;
  for (const key of CARRIED) {
    if (p[key] !== undefined) (out ??= {})[key] = p[key] as never;
  }
  return out;
}

export function handlePubrel(conn: Connection, packet: IPubrelPacket): void {
  const id = packet.messageId ?? 0;
  const known = conn.session!.awaitingRelease.delete(id);
  conn.writeAck(
    encodeAck('pubcomp', id, conn.version, known ? Reason.Success : Reason.PacketIdentifierNotFound),
    null,
  );
}
