// Read-only views of the broker for the HTTP API: the connected clients and the retained topic tree.
import type { QoS } from './api.js';
import type { BrokerCore } from './core.js';
import { isExpired } from './message.js';

export interface ClientInfo {
  clientId: string;
  username?: string;
  address: string;
  protocolVersion: 3 | 4 | 5;
  subscriptions: { filter: string; qos: QoS }[];
  /** Messages waiting for the client: queued plus in flight. */
  queued: number;
  /** Epoch ms the connection opened. */
  connectedSince: number;
}

export function clientsOf(core: BrokerCore): ClientInfo[] {
  const clients: ClientInfo[] = [];
  for (const conn of core.connections) {
    if (conn.state !== 'open') continue;
    const session = conn.session;
    const info: ClientInfo = {
      clientId: conn.clientId,
      address: conn.remoteAddress,
      protocolVersion: conn.version,
      subscriptions: session
        ? [...session.subscriptions].map(([filter, options]) => ({ filter, qos: options.qos }))
        : [],
      queued: session ? session.queuedCount + session.inflight.size : 0,
      connectedSince: conn.openedAt,
    };
    if (conn.username !== undefined) info.username = conn.username;
    clients.push(info);
  }
  return clients;
}

export interface RetainedEntry {
  topic: string;
  payload: Buffer;
  qos: QoS;
}

/** Retained messages under a topic prefix ("" for all), not expired, in topic order. */
export function retainedUnder(core: BrokerCore, prefix: string, now = Date.now()): RetainedEntry[] {
  const out: RetainedEntry[] = [];
  for (const msg of core.retained.all()) {
    if (isExpired(msg, now)) continue;
    if (
      prefix !== '' &&
      msg.topic !== prefix &&
      !msg.topic.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)
    )
      continue;
    out.push({ topic: msg.topic, payload: msg.payload, qos: msg.qos });
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
}
