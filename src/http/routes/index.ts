// Every route module of the API, in one list: a new route file is one import and one entry here.
// A route says who may call it with `config: { access: 'public' | 'viewer' | 'operator' | 'admin' }`
// (routes without it are admin-only); the server's guard enforces it before the handler runs.
import type { FastifyInstance } from 'fastify';
import type { BrokerUser } from '../../broker/config.js';
import type { HttpConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { AttemptLimiter } from '../auth/attempts.js';
import type { SessionStore } from '../auth/sessions.js';
import type { TokenVerifier } from '../auth/verify.js';
import type { HttpGateway } from '../context.js';
import type { GatewayMetrics } from '../metrics.js';
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

/** What route handlers may use. */
export interface HttpContext {
  gateway: HttpGateway;
  /** The http block as started. */
  config: HttpConfig;
  users: readonly BrokerUser[];
  /** Served over HTTPS. */
  secure: boolean;
  sessions: SessionStore;
  attempts: AttemptLimiter;
  tokens: TokenVerifier;
  metrics: GatewayMetrics;
  version: string;
  log: Logger;
  /** Runs `fn` when the server stops (long-lived streams end); returns the function that cancels it. */
  onClose(fn: () => void): () => void;
}

export type RouteModule = (app: FastifyInstance, ctx: HttpContext) => void | Promise<void>;

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
