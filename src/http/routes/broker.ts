// GET /api/broker/clients: who is connected; GET /api/broker/topics?prefix=: the retained topic
// tree with message counts, for a topic explorer.
import { isUtf8 } from 'node:buffer';
import type { RetainedEntry } from '../../broker/introspect.js';
import type { RouteModule } from './route-module.js';

/** Payloads larger than this are cut in the tree (the full message is one MQTT subscribe away). */
const MAX_PAYLOAD_SHOWN = 4096;

export interface TopicNode {
  name: string;
  topic: string;
  /** Retained messages at and below this node. */
  count: number;
  retained?: { payload: string; encoding?: 'base64'; qos: number; truncated?: true; bytes: number };
  children: TopicNode[];
}

export function payloadView(payload: Buffer): { payload: string; encoding?: 'base64' } {
  return isUtf8(payload)
    ? { payload: payload.toString('utf8') }
    : { payload: payload.toString('base64'), encoding: 'base64' };
}

export function topicTree(entries: readonly RetainedEntry[], prefix: string): TopicNode {
  const base = prefix.replace(/\/$/, '');
  const root: TopicNode = { name: base.split('/').pop() ?? '', topic: base, count: 0, children: [] };
  // Nodes below the root by topic (the root stays out: a topic "/x" has an empty first level).
  const index = new Map<string, TopicNode>();
  for (const entry of entries) {
    const rest = base === '' ? entry.topic : entry.topic.slice(base.length + 1);
    let node = root;
    node.count++;
    if (entry.topic !== base) {
      let topic: string | undefined = base === '' ? undefined : base;
      for (const level of rest.split('/')) {
        topic = topic === undefined ? level : `${topic}/${level}`;
        let child = index.get(topic);
        if (!child) {
          child = { name: level, topic, count: 0, children: [] };
          index.set(topic, child);
          node.children.push(child);
        }
        child.count++;
        node = child;
      }
    }
    const shown =
      entry.payload.length > MAX_PAYLOAD_SHOWN ? entry.payload.subarray(0, MAX_PAYLOAD_SHOWN) : entry.payload;
    node.retained = {
      ...payloadView(shown),
      qos: entry.qos,
      bytes: entry.payload.length,
      ...(shown !== entry.payload && { truncated: true as const }),
    };
  }
  return root;
}

const topicsQuery = {
  type: 'object',
  properties: { prefix: { type: 'string', maxLength: 65535, pattern: '^[^+#]*$', default: '' } },
} as const;

export const brokerRoutes: RouteModule = (app, ctx) => {
  app.get('/api/broker/clients', { config: { access: 'viewer' } }, async () =>
    ctx.gateway.broker().clients(),
  );

  app.get<{ Querystring: { prefix: string } }>(
    '/api/broker/topics',
    { config: { access: 'viewer' }, schema: { querystring: topicsQuery } },
    async (request) => {
      const prefix = request.query.prefix.replace(/\/$/, '');
      return topicTree(ctx.gateway.broker().retainedUnder(prefix), prefix);
    },
  );
};
