// What a route module is and what its handlers may use: apart from the list of modules in
// index.ts, so a route file never imports the list that imports it.
import type { FastifyInstance } from 'fastify';
import type { BrokerUser } from '../../broker/config.js';
import type { HttpConfig } from '../../config/types.js';
import type { Logger } from '../../log.js';
import type { AttemptLimiter } from '../auth/attempts.js';
import type { SessionStore } from '../auth/sessions.js';
import type { TokenVerifier } from '../auth/verify.js';
import type { HttpGateway } from '../context.js';
import type { GatewayMetrics } from '../metrics.js';

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
