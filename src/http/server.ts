// The HTTP server: fastify on http.host/http.port (HTTPS with http.tls), every answer through the
// guard (readiness, identity, role, Origin), the API routes of routes/index.ts, and the console.
import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { BrokerUser } from '../broker/config.js';
import type { HttpConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { AttemptLimiter } from './auth/attempts.js';
import { roleAllows, type Access, type Identity } from './auth/roles.js';
import { SESSION_COOKIE, SessionStore } from './auth/sessions.js';
import { TokenVerifier } from './auth/verify.js';
import type { HttpGateway } from './context.js';
import { errorBody } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { routes, type HttpContext } from './routes/index.js';
import { hostIsLoopback, originProblem, securityHeaders, STATE_CHANGING } from './security.js';
import { serveConsole } from './static.js';
import { buildSerializer, buildValidator } from './validation.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; routes without it are admin-only. */
    access?: Access;
  }
  interface FastifyRequest {
    identity: Identity | null;
    /** The session the identity came from, if it came from one. */
    sessionId: string | null;
  }
}

/** Request bodies beyond this are refused (413); mapping edits have their own, larger limit. */
export const BODY_LIMIT = 64 * 1024;

export interface HttpServerOptions {
  /** The http block as it was at start (a change needs a restart). */
  config: HttpConfig;
  /** The broker's users: their roles (passwords are checked by the broker's authenticator). */
  users: readonly BrokerUser[];
  gateway: HttpGateway;
  metrics: GatewayMetrics;
  log: Logger;
  version: string;
  /** Folder of the built console; default dist/web of the package. */
  webRoot?: string;
}

export class HttpServer {
  readonly app: FastifyInstance;
  private readonly ctx: HttpContext;
  private readonly closers = new Set<() => void>();
  private url?: string;

  constructor(private readonly opts: HttpServerOptions) {
    const { config } = opts;
    const secure = config.tls !== undefined;
    this.app = Fastify({
      logger: false,
      bodyLimit: BODY_LIMIT,
      forceCloseConnections: true,
      // Request validators compiled at each route's first request (validation.ts); no route has a
      // response schema, so fastify's serializer compiler is never needed either.
      schemaController: { compilersFactory: { buildValidator, buildSerializer } },
      return503OnClosing: true,
      ...(config.tls && {
        https: { cert: readTls(config.tls.cert, 'cert'), key: readTls(config.tls.key, 'key') },
      }),
    }) as unknown as FastifyInstance;
    this.ctx = {
      gateway: opts.gateway,
      config,
      users: opts.users,
      secure,
      sessions: new SessionStore(config.sessionIdleMin * 60_000),
      attempts: new AttemptLimiter(config.loginAttemptsPerMin),
      tokens: new TokenVerifier(config.tokens),
      metrics: opts.metrics,
      version: opts.version,
      log: opts.log,
      onClose: (fn) => {
        this.closers.add(fn);
        return () => this.closers.delete(fn);
      },
    };
  }

  /** Registers the plugins (in order: cookies before the guard), routes and console. */
  private async build(): Promise<void> {
    const app = this.app;
    app.decorateRequest('identity', null);
    app.decorateRequest('sessionId', null);
    await app.register(cookie);
    app.addHook('onRequest', (request, reply) => this.guard(request, reply));
    app.setErrorHandler((error: FastifyError, request, reply) => this.onError(error, request, reply));
    for (const route of routes) await route(app, this.ctx);
    await serveConsole(app, this.opts.webRoot);
  }

  /** Listens; a port in use (or any listen failure) is one plain sentence. */
  async start(): Promise<void> {
    const { host, port, tls } = this.opts.config;
    await this.build();
    try {
      await this.app.listen({ host, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EADDRINUSE'
          ? 'the port is already in use'
          : code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : code === 'EADDRNOTAVAIL'
              ? 'no such address on this machine'
              : (err as Error).message;
      throw Object.assign(new Error(`http listener ${host}:${port}: ${why}`), { code });
    }
    const address = this.app.server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    this.url = `${tls ? 'https' : 'http'}://${shownHost}:${actual}`;
    this.opts.log.info({ url: this.url }, 'HTTP API and console listening');
  }

  /** The base URL once listening, e.g. http://127.0.0.1:8080. */
  get address(): string | undefined {
    return this.url;
  }

  async stop(): Promise<void> {
    for (const close of [...this.closers]) close();
    this.closers.clear();
    this.ctx.sessions.close();
    await this.app.close();
  }

  private async guard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { config, secure } = this.ctx;
    securityHeaders(request, reply, secure);
    // Unlisted API routes are admin-only; everything else (the console's files) is public.
    const access =
      request.routeOptions.config.access ?? (request.url.startsWith('/api/') ? 'admin' : 'public');
    if (config.allowAnonymous && !hostIsLoopback(request)) {
      return void reply
        .code(403)
        .send(errorBody('this gateway answers only to loopback host names (localhost, 127.0.0.1, [::1])'));
    }
    if (access === 'public' && !request.url.startsWith('/api/')) return;
    const readiness = this.ctx.gateway.readiness();
    if (!readiness.ready && request.url.startsWith('/api/')) {
      return void reply.code(503).send(errorBody(`not ready: ${readiness.reason}`));
    }
    const sessionCookie = request.cookies[SESSION_COOKIE];
    const identity = await this.identify(request, reply, sessionCookie);
    if (reply.sent) return;
    request.identity = identity;
    if (STATE_CHANGING.has(request.method) && identity?.kind !== 'token') {
      const problem = originProblem(request, secure, sessionCookie !== undefined);
      if (problem) return void reply.code(403).send(errorBody(problem));
    }
    if (access === 'public') return;
    if (!identity)
      return void reply.code(401).send(errorBody('log in first (POST /api/login) or send a bearer token'));
    if (!roleAllows(identity.role, access)) {
      return void reply
        .code(403)
        .send(
          errorBody(
            `this needs the ${access} role; ${identity.name} is ${article(identity.role)} ${identity.role}`,
          ),
        );
    }
  }

  /** The bearer token's identity, the session's, anonymous (when allowed) or none. */
  private async identify(
    request: FastifyRequest,
    reply: FastifyReply,
    sessionCookie: string | undefined,
  ): Promise<Identity | null> {
    const { tokens, sessions, attempts, config } = this.ctx;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) {
        reply.code(401).send(errorBody('the Authorization header must be "Bearer <token>"'));
        return null;
      }
      const identity = await tokens.verify(match[1]!);
      if (identity) return identity;
      // A wrong token counts as a failed login: guessing tokens is rate-limited like passwords.
      if (!attempts.take(request.ip)) {
        reply.code(429).header('retry-after', attempts.retryAfterSec(request.ip));
        reply.send(errorBody('too many failed attempts from this address; try again later'));
        return null;
      }
      reply.code(401).send(errorBody('unknown or revoked token'));
      return null;
    }
    if (sessionCookie !== undefined) {
      const identity = sessions.touch(sessionCookie);
      if (identity) {
        request.sessionId = sessionCookie;
        return identity;
      }
    }
    return config.allowAnonymous
      ? { kind: 'anonymous', name: 'anonymous', role: config.anonymousRole }
      : null;
  }

  private onError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    if (error.validation) {
      const where =
        error.validationContext === 'body' ? 'request body' : (error.validationContext ?? 'request');
      const lines = error.validation.map((v) => {
        const pointer =
          v.instancePath ||
          (typeof v.params.missingProperty === 'string' ? `/${v.params.missingProperty}` : '/');
        const extra =
          typeof v.params.additionalProperty === 'string' ? ` ("${v.params.additionalProperty}")` : '';
        return `${where} ${pointer}: ${v.message ?? 'invalid'}${extra}`;
      });
      return void reply.code(400).send(errorBody(lines.join('; ')));
    }
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return void reply
        .code(413)
        .send(
          errorBody(`request body too large (limit ${request.routeOptions.bodyLimit ?? BODY_LIMIT} bytes)`),
        );
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return void reply.code(415).send(errorBody('send JSON (Content-Type: application/json)'));
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
      return void reply.code(400).send(errorBody('request body: empty; send a JSON object'));
    if (status >= 400 && status < 500) return void reply.code(status).send(errorBody(error.message));
    this.opts.log.error({ err: error, url: request.url }, 'HTTP request failed');
    reply.code(500).send(errorBody('internal error; the gateway log has the details'));
  }
}

function article(role: string): string {
  return /^[aeiou]/.test(role) ? 'an' : 'a';
}

function readTls(file: string, what: 'cert' | 'key'): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`http.tls.${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}
