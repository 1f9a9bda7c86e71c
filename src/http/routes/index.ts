// Every route module of the API, in one list: a new route file is one import and one entry here.
// A route says who may call it with `config: { access: 'public' | 'viewer' | 'operator' | 'admin' }`
// (routes without it are admin-only); the server's guard enforces it before the handler runs.
import { auditRoutes } from './audit.js';
import { brokerRoutes } from './broker.js';
import { browseRoutes } from './browse.js';
import { deviceRoutes } from './devices.js';
import { eventRoutes } from './events.js';
import { healthRoutes } from './health.js';
import { importCsvRoutes } from './import-csv.js';
import { mappingRoutes } from './mappings.js';
import { sessionRoutes } from './session.js';
import { statusRoutes } from './status.js';
import { subscribeRoutes } from './subscribe.js';
import { tagRoutes } from './tags.js';

export type { HttpContext, RouteModule } from './route-module.js';
import type { RouteModule } from './route-module.js';

export const routes: readonly RouteModule[] = [
  healthRoutes,
  sessionRoutes,
  statusRoutes,
  deviceRoutes,
  tagRoutes,
  mappingRoutes,
  auditRoutes,
  brokerRoutes,
  eventRoutes,
  subscribeRoutes,
  browseRoutes,
  importCsvRoutes,
];
