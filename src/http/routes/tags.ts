// GET /api/tags: every mapped tag with its latest value; POST .../write and .../read: commands
// through the command router, exactly as on the tag's MQTT `/set` and `/get` topics.
import type { MappedTag } from '../../config/types.js';
import { auditIdentity } from '../auth/roles.js';
import { statusOf } from '../command-outcome.js';
import { errorBody } from '../errors.js';
import { tagListJson } from '../tag-catalog.js';
import type { RouteModule } from './index.js';

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

const writeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['value'],
  properties: {
    value: {},
    requestId: { type: 'string', minLength: 1, maxLength: 200 },
    ttlMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
  },
} as const;

const readBody = {
  type: 'object',
  additionalProperties: false,
  properties: { requestId: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

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
      const { device, tag } = request.params;
      const mapped = findTag(device, tag);
      if (!mapped) return reply.code(404).send(errorBody(`no tag "${tag}" on device "${device}"`));
      const payload = Buffer.from(JSON.stringify(request.body));
      const running = ctx.gateway.command(`${mapped.topic}/set`, payload, auditIdentity(request.identity!));
      if (!running) return reply.code(503).send(errorBody('the command router is not running'));
      const { result, outcome } = await running;
      return reply.code(statusOf(outcome)).send(result);
    },
  );

  app.post<{ Params: TagParams; Body: { requestId?: string } | undefined }>(
    '/api/tags/:device/:tag/read',
    { config: { access: 'viewer' }, schema: { body: readBody } },
    async (request, reply) => {
      const { device, tag } = request.params;
      const mapped = findTag(device, tag);
      if (!mapped) return reply.code(404).send(errorBody(`no tag "${tag}" on device "${device}"`));
      const requestId = request.body?.requestId;
      const payload = Buffer.from(requestId === undefined ? '' : JSON.stringify({ requestId }));
      const running = ctx.gateway.command(`${mapped.topic}/get`, payload, auditIdentity(request.identity!));
      if (!running) return reply.code(503).send(errorBody('the command router is not running'));
      const { result, outcome } = await running;
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
