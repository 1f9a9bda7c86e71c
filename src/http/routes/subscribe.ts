// GET /api/subscribe?filter=: MQTT messages matching a filter, as server-sent events, checked
// against the caller's broker ACL as if it subscribed over MQTT. Retained messages come first.
import { topicMatches } from '../../broker/topics/validate.js';
import type { DeliveredMessage } from '../../broker/api.js';
import { aclUsername, auditIdentity } from '../auth/roles.js';
import { errorBody } from '../errors.js';
import { openEventStream } from '../sse.js';
import { payloadView } from './broker.js';
import type { RouteModule } from './route-module.js';

const FLUSH_MS = 100;
/** Messages per flush; beyond it a busy filter is thinned and the client told how many it missed. */
const MAX_PER_FLUSH = 500;

const query = {
  type: 'object',
  required: ['filter'],
  properties: { filter: { type: 'string', minLength: 1, maxLength: 65535 } },
} as const;

function event(msg: Pick<DeliveredMessage, 'topic' | 'payload' | 'retain' | 'qos'>, ts: number): unknown {
  return { topic: msg.topic, ...payloadView(msg.payload), retain: msg.retain, qos: msg.qos, ts };
}

export const subscribeRoutes: RouteModule = (app, ctx) => {
  app.get<{ Querystring: { filter: string } }>(
    '/api/subscribe',
    { config: { access: 'viewer' }, schema: { querystring: query } },
    (request, reply) => {
      const { filter } = request.query;
      const who = request.identity!;
      const broker = ctx.gateway.broker();
      const problem = broker.subscribeProblem(aclUsername(who), auditIdentity(who).clientId, filter);
      if (problem) {
        const status = problem.includes('ACL') ? 403 : 400;
        return reply.code(status).send(errorBody(`cannot subscribe to "${filter}": ${problem}`));
      }
      const stream = openEventStream(request, reply, ctx.onClose, ctx.sessions.holds(request.sessionId));
      const now = Date.now();
      for (const retained of broker.retainedUnder('')) {
        if (topicMatches(filter, retained.topic))
          stream.send('message', event({ ...retained, retain: true }, now));
      }
      let queued: unknown[] = [];
      let dropped = 0;
      stream.onEnd(
        broker.subscribe(filter, (msg) => {
          if (queued.length >= MAX_PER_FLUSH) dropped++;
          else queued.push(event(msg, Date.now()));
        }),
      );
      const flush = setInterval(() => {
        if (!stream.writable) return;
        const out = queued;
        queued = [];
        for (const data of out) stream.send('message', data);
        if (dropped > 0) stream.send('dropped', { count: dropped });
        dropped = 0;
      }, FLUSH_MS);
      stream.onEnd(() => clearInterval(flush));
    },
  );
};
