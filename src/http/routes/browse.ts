// GET /api/devices/:id/browse?node= (admin): the objects and variables below a node of an OPC UA
// device, for picking tags in the console's mapping editor.
import type { OpcuaDeviceConfig } from '../../../drivers/opcua/config.js';
import { errorBody } from '../errors.js';
import { OpcuaBrowser } from '../opcua-browser.js';
import { exactObject } from './exact-object.js';
import type { RouteModule } from './route-module.js';

const query = exactObject({ node: { type: 'string', minLength: 1, maxLength: 4096 } });

export const browseRoutes: RouteModule = (app, ctx) => {
  const browser = new OpcuaBrowser();
  ctx.onClose(() => void browser.closeAll());

  app.get<{ Params: { id: string }; Querystring: { node?: string } }>(
    '/api/devices/:id/browse',
    { config: { access: 'admin' }, schema: { querystring: query } },
    async (request, reply) => {
      const { config } = ctx.gateway.config();
      const device = config.devices.find((d) => d.id === request.params.id);
      if (!device) return reply.code(404).send(errorBody(`no device "${request.params.id}" in the config`));
      if (device.driver !== 'opcua')
        return reply
          .code(409)
          .send(errorBody(`browsing is for OPC UA devices; "${device.id}" is a ${device.driver} device`));
      try {
        const children = await browser.children(
          device as unknown as OpcuaDeviceConfig,
          config.gateway.dataDir,
          request.query.node,
        );
        return children.map((c) => ({
          nodeId: c.nodeId,
          browseName: c.browseName,
          nodeClass: c.nodeClass,
          ...(c.dataType && { dataType: c.dataType }),
          ...(c.unit && { unit: c.unit }),
          ...(c.writable && { writable: true }),
          hasChildren: c.hasChildren,
        }));
      } catch (err) {
        const text = err instanceof Error ? err.message : String(err);
        if (/BadNodeIdUnknown|BadNodeIdInvalid|invalid nodeid|Invalid NodeId/i.test(text))
          return reply.code(400).send(errorBody(`no node "${request.query.node}" on ${device.id}: ${text}`));
        return reply.code(502).send(errorBody(`browsing ${device.id} failed: ${text}`));
      }
    },
  );
};
