// The built console served at / : files from the web root with a strict CSP, long caching for
// hashed assets, index.html for client-side routes, and a one-line hint when nothing is built.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpGateway, type HttpGatewayFixture } from './helpers.js';

let built: HttpGatewayFixture;
let missing: HttpGatewayFixture;

beforeAll(async () => {
  const webRoot = mkdtempSync(path.join(tmpdir(), 'tagwire-web-'));
  mkdirSync(path.join(webRoot, 'assets'));
  writeFileSync(
    path.join(webRoot, 'index.html'),
    '<!doctype html><title>tagwire</title><script src="/assets/app-3f9a1c2e.js"></script>',
  );
  writeFileSync(path.join(webRoot, 'assets', 'app-3f9a1c2e.js'), 'console.log("app");');
  built = await startHttpGateway({ gateway: { webRoot } });
  missing = await startHttpGateway({ gateway: { webRoot: path.join(webRoot, 'nothing-here') } });
}, 120_000);

afterAll(async () => {
  await built?.stop();
  await missing?.stop();
});

describe('the web console', () => {
  it('serves index.html at / without a login, with a strict CSP and no caching of the index', async () => {
    const res = await fetch(`${built.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<title>tagwire</title>');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('caches hashed assets for a year', async () => {
    const res = await fetch(`${built.base}/assets/app-3f9a1c2e.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('answers client-side routes with index.html, and unknown API routes with a JSON 404 or 401', async () => {
    const route = await fetch(`${built.base}/devices/press1`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<title>tagwire</title>');
    const api = await fetch(`${built.base}/api/nope`);
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: expect.stringContaining('log in') });
  });

  it('says how to build it when dist/web is missing', async () => {
    const res = await fetch(`${missing.base}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(
      'the web console is not built: run `npm run build` (it writes dist/web/)\n',
    );
  });
});
