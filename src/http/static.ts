// The built console (dist/web, made by `npm run build`): hashed assets cached for a year, the
// index never cached, and every other non-API path answered with index.html (client-side routes).
import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.js';
import { packageRoot } from '../package-root.js';

const HINT = 'the web console is not built: run `npm run build` (it writes dist/web/)\n';

export async function serveConsole(app: FastifyInstance, webRoot?: string): Promise<void> {
  const root = webRoot ?? path.join(packageRoot(), 'dist', 'web');
  const built = existsSync(path.join(root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root,
      wildcard: true,
      index: 'index.html',
      // Our own Cache-Control (setHeaders): the plugin's default would override it.
      cacheControl: false,
      setHeaders: (res, file) => {
        const immutable = /[.-][0-9a-zA-Z_-]{8,}\.(?:js|css|woff2?|svg|png|map)$/.test(path.basename(file));
        res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/api/') || request.url === '/api') {
      return reply
        .code(404)
        .send(errorBody(`no such API route: ${request.method} ${request.url.split('?')[0]}`));
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return reply.code(404).send(errorBody(`nothing at ${request.method} ${request.url.split('?')[0]}`));
    }
    if (!built) return reply.code(503).type('text/plain; charset=utf-8').send(HINT);
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
}
