// POST /api/mappings/import-csv { device, csv } (admin): a mapping for the device from a CSV tag
// list, checked like `tagwire import`; the console adds its tags to the file being edited.
import { importCsv } from '../../config/csv-import.js';
import { errorBody } from '../errors.js';
import { exactObject } from './exact-object.js';
import type { RouteModule } from './route-module.js';

const CSV_BODY_LIMIT = 4 * 1024 * 1024;

const body = exactObject(
  {
    device: { type: 'string', minLength: 1, maxLength: 200 },
    csv: { type: 'string', minLength: 1, maxLength: CSV_BODY_LIMIT - 1024 },
  },
  ['device', 'csv'],
);

export const importCsvRoutes: RouteModule = (app, ctx) => {
  app.post<{ Body: { device: string; csv: string } }>(
    '/api/mappings/import-csv',
    { config: { access: 'admin' }, bodyLimit: CSV_BODY_LIMIT, schema: { body } },
    async (request, reply) => {
      const { config, mappings } = ctx.gateway.config();
      const device = config.devices.find((d) => d.id === request.body.device);
      if (!device) return reply.code(404).send(errorBody(`no device "${request.body.device}" in the config`));
      const topic = mappings.find((m) => m.device === device.id)?.topic ?? `site/${device.id}`;
      const result = importCsv(request.body.csv, { device: device.id, driver: device.driver, topic });
      if (!result.ok) {
        const first = result.problems[0];
        return reply.code(422).send({
          error: `the CSV has ${result.problems.length === 1 ? 'a problem' : `${result.problems.length} problems`}: line ${first?.line}: ${first?.message}`,
          problems: result.problems,
        });
      }
      return { content: JSON.stringify(result.mapping, null, 2) + '\n', tags: result.tags };
    },
  );
};
