// $SYS/broker/... statistics, republished (retained) every `sys.intervalSec` seconds.
import type { BrokerCore } from './core.js';

const VERSION = 'tagwire broker 0.1.0';

export function sysTopics(core: BrokerCore): [string, string][] {
  const s = core.stats;
  let connected = 0;
  for (const conn of core.connections) if (conn.state === 'open') connected++;
  let subscriptions = 0;
  for (const session of core.sessions.values()) subscriptions += session.subscriptions.size;
  return [
    ['$SYS/broker/version', VERSION],
    ['$SYS/broker/uptime', `${Math.floor((Date.now() - s.startedAt) / 1000)} seconds`],
    ['$SYS/broker/clients/connected', String(connected)],
    ['$SYS/broker/clients/total', String(core.sessions.size)],
    ['$SYS/broker/clients/disconnected', String(core.sessions.size - connected)],
    ['$SYS/broker/messages/received', String(s.messagesReceived)],
    ['$SYS/broker/messages/sent', String(s.messagesSent)],
    ['$SYS/broker/messages/dropped', String(s.messagesDropped)],
    ['$SYS/broker/bytes/received', String(s.bytesReceived)],
    ['$SYS/broker/bytes/sent', String(s.bytesSent)],
    ['$SYS/broker/subscriptions/count', String(subscriptions)],
    ['$SYS/broker/retained messages/count', String(core.retained.size)],
    ['$SYS/broker/publish/denied', String(s.publishDenied)],
    ['$SYS/broker/publish/not stored', String(s.publishNotStored)],
    ['$SYS/broker/connections/refused', String(s.connectionsRefused)],
  ];
}

export function publishSys(core: BrokerCore): void {
  const stats = core.stats;
  // $SYS messages are bookkeeping: they do not count as messages received.
  const received = stats.messagesReceived;
  const receivedQos0 = stats.receivedByQos[0];
  for (const [topic, value] of sysTopics(core)) {
    core.publish({
      topic,
      payload: Buffer.from(value),
      qos: 0,
      retain: true,
      properties: undefined,
      origin: { kind: 'internal', component: 'broker' },
      expiresAt: 0,
      publisher: null,
    });
  }
  stats.messagesReceived = received;
  stats.receivedByQos[0] = receivedQos0;
}
