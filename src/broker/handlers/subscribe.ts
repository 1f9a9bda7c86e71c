// SUBSCRIBE: filter checks, the ACL (granted when the filter can carry a readable topic), options
// (v5 no-local, retain-as-published, retain handling, subscription identifier), SUBACK with a code
// per filter, then the matching retained messages the client may read.
import type { ISubscribePacket } from 'mqtt-packet';
import type { QoS } from '../api.js';
import { encode } from '../codec.js';
import type { Connection } from '../connection.js';
import type { BrokerCore } from '../core.js';
import type { RoutedMessage } from '../message.js';
import { Reason } from '../reason-codes.js';
import type { Session, SubscriptionOptions } from '../session.js';
import { parseSharedFilter, topicFilterProblem } from '../topics/validate.js';

export function handleSubscribe(core: BrokerCore, conn: Connection, packet: ISubscribePacket): void {
  const session = conn.session!;
  const v5 = conn.version === 5;
  if (packet.subscriptions.length === 0)
    return conn.fail(Reason.ProtocolError, 'SUBSCRIBE without a topic filter');
  const subscriptionId = v5 ? packet.properties?.subscriptionIdentifier : undefined;
  if (subscriptionId === 0) return conn.fail(Reason.ProtocolError, 'subscription identifier 0');
  const granted: number[] = [];
  const retained: [RoutedMessage[], SubscriptionOptions][] = [];
  const refused: string[] = [];
  let overLimit = false;

  for (const sub of packet.subscriptions) {
    const filter = sub.topic;
    const shared = parseSharedFilter(filter);
    let problem =
      typeof shared === 'string' ? shared : topicFilterProblem(shared ? shared.filter : filter, core.limits);
    if (!problem && shared && v5 && sub.nl) {
      return conn.fail(Reason.ProtocolError, 'no-local on a shared subscription');
    }
    if (!problem && filter.length > core.limits.maxTopicLength) problem = 'topic filter too long';
    if (problem) {
      granted.push(v5 ? Reason.TopicFilterInvalid : 0x80);
      refused.push(`${filter}: ${problem}`);
      continue;
    }
    const coverage = shared && typeof shared === 'object' ? shared.filter : filter;
    const access = conn.acl!.subscription(coverage);
    if (access === 'refused') {
      core.log.info(
        { clientId: conn.clientId, username: conn.username, filter },
        'subscribe denied by the ACL',
      );
      granted.push(v5 ? Reason.NotAuthorized : 0x80);
      refused.push(`${filter}: not authorized`);
      continue;
    }
    if (subscriptionLimitReached(core, session, filter)) {
      if (!overLimit) {
        const limit = core.limits.maxSubscriptionsPerClient;
        core.log.warn({ clientId: conn.clientId, limit }, 'subscription refused: limit per client reached');
      }
      overLimit = true;
      granted.push(v5 ? Reason.QuotaExceeded : 0x80);
      refused.push(`${filter}: limit of ${core.limits.maxSubscriptionsPerClient} subscriptions reached`);
      continue;
    }
    const qos = Math.min(sub.qos, 2) as QoS;
    const retainHandling = v5 ? ((sub.rh ?? 0) as 0 | 1 | 2) : 0;
    const options: SubscriptionOptions = {
      qos,
      noLocal: v5 && sub.nl === true,
      retainAsPublished: v5 && sub.rap === true,
      retainHandling,
      subscriptionId,
    };
    // A subscription that can match topics the client may not read is checked per message.
    const reader = access === 'filtered' ? conn.acl! : null;
    const isNew = core.addSubscription(session, filter, options, reader);
    granted.push(qos);
    // Shared subscriptions get no retained messages (MQTT-4.8.2-3 leaves it to the server; this one sends none).
    if (!shared && (retainHandling === 0 || (retainHandling === 1 && isNew))) {
      const matching = core.retained.matching(filter, Date.now());
      retained.push([reader ? matching.filter((m) => reader.mayRead(m.topic)) : matching, options]);
    }
  }

  const reasonString = v5 && refused.length > 0 ? refused.join('; ').slice(0, 1000) : undefined;
  conn.write(
    encode(
      {
        cmd: 'suback',
        messageId: packet.messageId ?? 0,
        granted,
        properties: reasonString ? { reasonString } : undefined,
      },
      conn.version,
    ),
  );
  core.saveSession(session);
  for (const [messages, options] of retained) {
    for (const msg of messages) {
      if (options.noLocal && msg.publisher === session) continue;
      const ids = options.subscriptionId !== undefined ? [options.subscriptionId] : undefined;
      session.deliver(msg, (msg.qos < options.qos ? msg.qos : options.qos) as QoS, true, ids);
    }
  }
}

/** A new filter beyond `maxSubscriptionsPerClient` (replacing an existing subscription is fine). */
function subscriptionLimitReached(core: BrokerCore, session: Session, filter: string): boolean {
  return (
    session.subscriptions.size >= core.limits.maxSubscriptionsPerClient && !session.subscriptions.has(filter)
  );
}
