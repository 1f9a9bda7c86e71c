// GET /api/tags: every mapped tag with its latest value; POST .../write and .../read: commands
// through the command router, exactly as on the tag's MQTT `/set` and `/get` topics.
import type { MappedTag } from '../../config/types.js';
import { auditIdentity, type Identity } from '../auth/roles.js';
import { statusOf } from '../command-outcome.js';
import { errorBody } from '../errors.js';
import { tagListJson } from '../tag-catalog.js';
import type { CommandOutcome } from '../../mapping/commands.js';
import { exactObject } from './exact-object.js';
import type { RouteModule } from './route-module.js';

const MAX_LIMIT = 100_000;

const listQuery = {
  type: 'object',
  properties: {
    device: { type: 'string', minLength: 1 },
    q: { type: 'string', maxLength: 200 },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 10_000 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;

const writeBody = exactObject(
  {
    value: {},
    requestId: { type: 'string', minLength: 1, maxLength: 200 },
    ttlMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
  },
  ['value'],
);

const readBody = exactObject({ requestId: { type: 'string', minLength: 1, maxLength: 200 } });

interface TagParams {
  device: string;
  tag: string;
}

export const tagRoutes: RouteModule = (app, ctx) => {
  const findTag = (device: string, name: string): MappedTag | undefined => {
    for (const m of ctx.gateway.config().mappings) {
      if (m.device !== device) continue;
      const tag = m.tags.find((t) => t.name === name);
      if (tag) return tag;
    }
    return undefined;
  };

  /** A command on a tag, exactly as on its MQTT `/set` or `/get` topic; or why it cannot run. */
  const runOnTag = async (
    { device, tag }: TagParams,
    verb: 'set' | 'get',
    payload: string,
    who: Identity,
  ): Promise<CommandOutcome | { status: 404 | 503; error: string }> => {
    const mapped = findTag(device, tag);
    if (!mapped) return { status: 404, error: `no tag "${tag}" on device "${device}"` };
    const running = ctx.gateway.command(`${mapped.topic}/${verb}`, Buffer.from(payload), auditIdentity(who));
    if (!running) return { status: 503, error: 'the command router is not running' };
    return running;
  };

  app.get<{ Querystring: { device?: string; q?: string; limit: number; offset: number } }>(
    '/api/tags',
    { config: { access: 'viewer' }, schema: { querystring: listQuery } },
    async (request, reply) => {
      const { device, limit, offset } = request.query;
      const q = request.query.q?.toLowerCase() ?? '';
      const latest = ctx.gateway.latest;
      const text = tagListJson(ctx.gateway.config().mappings, (d, t) => latest.get(d, t), {
        ...(device !== undefined && { device }),
        q,
        limit,
        offset,
      });
      return reply.type('application/json; charset=utf-8').send(text);
    },
  );

  app.post<{ Params: TagParams; Body: { value: unknown; requestId?: string; ttlMs?: number } }>(
    '/api/tags/:device/:tag/write',
    { config: { access: 'operator' }, schema: { body: writeBody } },
    async (request, reply) => {
      const ran = await runOnTag(request.params, 'set', JSON.stringify(request.body), request.identity!);
      if ('error' in ran) return reply.code(ran.status).send(errorBody(ran.error));
      return reply.code(statusOf(ran.outcome)).send(ran.result);
    },
  );

  app.post<{ Params: TagParams; Body: { requestId?: string } | undefined }>(
    '/api/tags/:device/:tag/read',
    { config: { access: 'viewer' }, schema: { body: readBody } },
    async (request, reply) => {
      const requestId = request.body?.requestId;
      const payload = requestId === undefined ? '' : JSON.stringify({ requestId });
      const ran = await runOnTag(request.params, 'get', payload, request.identity!);
      if ('error' in ran) return reply.code(ran.status).send(errorBody(ran.error));
      const { result, outcome } = ran;
      if (!result.ok) return reply.code(statusOf(outcome)).send(result);
      return {
        value: result.value ?? null,
        ts: result.ts,
        quality: result.quality ?? 'good',
        ...(result.reason !== undefined && { reason: result.reason }),
        ...(result.requestId !== undefined && { requestId: result.requestId }),
      };
    },
  );
};
