// GET /api/devices and /api/devices/:id: each device's status, asked of its driver on every call.
import { errorBody } from '../errors.js';
import type { RouteModule } from './route-module.js';

export const deviceRoutes: RouteModule = (app, ctx) => {
  app.get('/api/devices', { config: { access: 'viewer' } }, async () => ctx.gateway.devices());

  app.get<{ Params: { id: string } }>(
    '/api/devices/:id',
    { config: { access: 'viewer' } },
    async (request, reply) => {
      const device = ctx.gateway.devices().find((d) => d.deviceId === request.params.id);
      if (!device) return reply.code(404).send(errorBody(`no running device "${request.params.id}"`));
      return device;
    },
  );
};
