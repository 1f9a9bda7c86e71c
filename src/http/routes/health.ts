// /healthz (the process runs), /readyz (the gateway is up: 503 with the reason while starting or
// stopping) and /metrics (Prometheus text; anonymous when http.metrics.anonymous).
import type { RouteModule } from './route-module.js';

export const healthRoutes: RouteModule = (app, ctx) => {
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    const readiness = ctx.gateway.readiness();
    if (readiness.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready', reason: readiness.reason });
  });

  app.get(
    '/metrics',
    { config: { access: ctx.config.metrics.anonymous ? 'public' : 'viewer' } },
    async (_request, reply) => {
      const text = await ctx.metrics.text();
      return reply.type(ctx.metrics.contentType).send(text);
    },
  );
};
