// UNSUBSCRIBE: removes each filter; v5 says per filter whether there was one.
import type { IUnsubscribePacket } from 'mqtt-packet';
import { encode } from '../codec.js';
import type { Connection } from '../connection.js';
import type { BrokerCore } from '../core.js';
import { Reason } from '../reason-codes.js';
import { parseSharedFilter, topicFilterProblem } from '../topics/validate.js';

export function handleUnsubscribe(core: BrokerCore, conn: Connection, packet: IUnsubscribePacket): void {
  const session = conn.session!;
  if (packet.unsubscriptions.length === 0)
    return conn.fail(Reason.ProtocolError, 'UNSUBSCRIBE without a topic filter');
  const codes: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const shared = parseSharedFilter(filter);
    const problem =
      typeof shared === 'string' ? shared : topicFilterProblem(shared ? shared.filter : filter, core.limits);
    if (problem) codes.push(Reason.TopicFilterInvalid);
    else codes.push(core.removeSubscription(session, filter) ? Reason.Success : Reason.NoSubscriptionExisted);
  }
  core.saveSession(session);
  const messageId = packet.messageId ?? 0;
  conn.write(
    encode(
      conn.version === 5
        ? { cmd: 'unsuback', messageId, granted: codes }
        : { cmd: 'unsuback', messageId, granted: [] },
      conn.version,
    ),
  );
}
