// Login, logout and "who am I": a session cookie (HttpOnly, SameSite=Strict, Secure under HTTPS)
// after the broker's authenticator accepts the password; the same answer for a wrong password and
// an unknown user; attempts limited per address.
import { verifyLogin } from '../auth/verify.js';
import { errorBody } from '../errors.js';
import { SESSION_COOKIE } from '../auth/sessions.js';
import { exactObject } from './exact-object.js';
import type { RouteModule } from './route-module.js';

const loginBody = exactObject(
  {
    username: { type: 'string', minLength: 1, maxLength: 200 },
    password: { type: 'string', maxLength: 1024 },
  },
  ['username', 'password'],
);

const WRONG = 'wrong username or password';

export const sessionRoutes: RouteModule = (app, ctx) => {
  const cookieOptions = {
    httpOnly: true,
    sameSite: 'strict',
    secure: ctx.secure,
    path: '/',
  } as const;

  app.post<{ Body: { username: string; password: string } }>(
    '/api/login',
    { config: { access: 'public' }, schema: { body: loginBody } },
    async (request, reply) => {
      if (!ctx.attempts.take(request.ip)) {
        reply.header('retry-after', ctx.attempts.retryAfterSec(request.ip));
        return reply.code(429).send(errorBody('too many login attempts from this address; try again later'));
      }
      const { username, password } = request.body;
      const identity = await verifyLogin(
        ctx.gateway.broker().authenticator,
        ctx.users,
        username,
        password,
        request.ip,
      );
      if (!identity) {
        ctx.log.warn({ username, address: request.ip }, 'HTTP login refused');
        return reply.code(401).send(errorBody(WRONG));
      }
      const previous = request.cookies[SESSION_COOKIE];
      if (previous !== undefined) ctx.sessions.end(previous);
      reply.setCookie(SESSION_COOKIE, ctx.sessions.create(identity), cookieOptions);
      ctx.log.info({ username, role: identity.role, address: request.ip }, 'HTTP login');
      return { user: identity.name, role: identity.role };
    },
  );

  app.post('/api/logout', { config: { access: 'public' } }, async (request, reply) => {
    const id = request.cookies[SESSION_COOKIE];
    if (id !== undefined) ctx.sessions.end(id);
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return reply.code(204).send();
  });

  app.get('/api/me', { config: { access: 'public' } }, async (request, reply) => {
    const who = request.identity;
    if (!who) return reply.code(401).send({ ...errorBody('not logged in'), loginRequired: true });
    return {
      user: who.kind === 'anonymous' ? null : who.name,
      role: who.role,
      anonymous: who.kind === 'anonymous',
      loginRequired: !ctx.config.allowAnonymous,
      ...(who.kind === 'token' && { token: true }),
    };
  });
};
