// Response headers every answer carries, and the checks that keep another site from using a
// logged-in browser (Origin) or a loopback-only gateway (Host, against DNS rebinding).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopback } from '../broker/listeners/listen.js';

/** The console is one origin, no inline script or style, never framed. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(request: FastifyRequest, reply: FastifyReply, secure: boolean): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  if (secure) reply.header('strict-transport-security', 'max-age=31536000');
  if (request.url.startsWith('/api/') || request.url === '/metrics')
    reply.header('cache-control', 'no-store');
}

export const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Why a state-changing browser request is refused, or undefined. A browser sends `Origin` on every
 * POST; it must name this server. A request without one is a non-browser client: allowed, except
 * with a session cookie (which only a browser, or someone holding the cookie, would send).
 */
export function originProblem(
  request: FastifyRequest,
  secure: boolean,
  hasSessionCookie: boolean,
): string | undefined {
  const origin = request.headers.origin;
  if (request.headers['sec-fetch-site'] === 'cross-site') return 'cross-site request refused';
  if (origin === undefined) {
    return hasSessionCookie ? 'a request with a session cookie must carry an Origin header' : undefined;
  }
  const expected = `${secure ? 'https' : 'http'}://${request.headers.host ?? ''}`;
  return origin === expected ? undefined : `Origin ${origin} does not match this server (${expected})`;
}

/** With anonymous access on, only loopback host names may be used: a rebound DNS name is refused. */
export function hostIsLoopback(request: FastifyRequest): boolean {
  const host = request.headers.host;
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isLoopback(name);
}
