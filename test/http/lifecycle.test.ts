// The HTTP server's life with the gateway and its config: /readyz 503 while starting, one clear
// line for a port in use, HTTPS from relative certificate paths (Secure cookie, HSTS), anonymous
// access on a loopback demo (and refused anywhere else), anonymous /metrics by config.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { makePki } from '../bridge/helpers/certs.js';
import { demoConfig } from '../helpers/demo-config.js';
import { freePort, sleep } from '../helpers/net.js';
import { Client, PASSWORD, startHttpGateway, type HttpGatewayFixture } from './helpers.js';

let running: HttpGatewayFixture | undefined;

/** GET /api/status with a chosen Host header (fetch does not let one set it). */
function statusWithHost(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/status', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('start and stop', () => {
  it('answers /readyz 503 with the step while starting, then 200; /healthz all along', async () => {
    running = await startHttpGateway({ start: false });
    const { gateway, base } = running;
    const starting = gateway.start();
    const seen: Array<{ status: number; body: { reason?: string } }> = [];
    let healthz = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${base}/readyz`);
        seen.push({ status: res.status, body: (await res.json()) as { reason?: string } });
        if (res.status === 200) break;
        healthz = (await fetch(`${base}/healthz`)).status;
      } catch {
        // Not listening yet.
      }
      await sleep(5);
    }
    await starting;
    expect(seen[0]!.status).toBe(503);
    expect(seen[0]!.body).toMatchObject({
      status: 'not ready',
      reason: expect.stringMatching(/^starting: /),
    });
    expect(seen.at(-1)!.status).toBe(200);
    expect(healthz).toBe(200);
    // The API says so too while not ready; after start it needs a login as usual.
    expect((await fetch(`${base}/api/status`)).status).toBe(401);
    await gateway.stop();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    running = undefined;
  }, 90_000);

  it('fails to start with one plain line when the port is in use, and leaves nothing running', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const fx = await startHttpGateway({ start: false, http: { port } });
      const error = await fx.gateway.start().then(
        () => undefined,
        (err: Error) => err,
      );
      expect(error?.message).toBe(`http listener 127.0.0.1:${port}: the port is already in use`);
      expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      // The MQTT port was never taken (HTTP starts first) or was released.
      const probe = net.createServer();
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.listen(fx.demo.mqttPort, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => probe.close(resolve));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 60_000);
});

describe('HTTPS', () => {
  it('serves HTTPS from certificate paths relative to the config, with a Secure cookie and HSTS', async () => {
    const pki = makePki();
    running = await startHttpGateway({
      http: { tls: { cert: 'certs/gw.pem', key: 'certs/gw.key' } },
      prepare: (dir) => {
        mkdirSync(path.join(dir, 'certs'));
        copyFileSync(pki.serverCert, path.join(dir, 'certs/gw.pem'));
        copyFileSync(pki.serverKey, path.join(dir, 'certs/gw.key'));
      },
    });
    const port = running.demo.httpPort;
    const answer = await new Promise<{
      status: number;
      headers: import('node:http').IncomingHttpHeaders;
      body: string;
    }>((resolve, reject) => {
      const body = JSON.stringify({ username: 'admin1', password: PASSWORD.admin });
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/login',
          method: 'POST',
          ca: readFileSync(pki.ca),
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            origin: `https://127.0.0.1:${port}`,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['set-cookie']?.[0]).toMatch(/; Secure/);
    expect(answer.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    // Plain HTTP on the same port is not served.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 90_000);
});

describe('anonymous access', () => {
  it('on a loopback demo, anonymous is an operator: reads and writes, audited as http:anonymous', async () => {
    running = await startHttpGateway({ http: { allowAnonymous: true } });
    const anonymous = new Client(running.base);
    expect((await anonymous.get('/api/me')).body).toEqual({
      user: null,
      role: 'operator',
      anonymous: true,
      loginRequired: false,
    });
    const write = await anonymous.post('/api/tags/press1/setpoint/write', { value: 33, requestId: 'anon-1' });
    expect(write.status).toBe(200);
    expect((await anonymous.get('/api/mappings')).status).toBe(403);
    const admin = new Client(running.base);
    await admin.login('admin1', PASSWORD.admin);
    const audit = await admin.get<Array<{ requestId?: string; identity: string }>>('/api/audit');
    expect(audit.body.find((r) => r.requestId === 'anon-1')?.identity).toBe('http:anonymous');
    // Another host name pointing here (DNS rebinding) is refused.
    const port = running.demo.httpPort;
    expect(await statusWithHost(port, `evil.example:${port}`)).toBe(403);
    expect(await statusWithHost(port, `localhost:${port}`)).toBe(200);
    expect(await statusWithHost(port, `[::1]:${port}`)).toBe(200);
  }, 90_000);

  it('with anonymousRole admin (the demo), anonymous also reads mappings and the audit log', async () => {
    running = await startHttpGateway({ http: { allowAnonymous: true, anonymousRole: 'admin' } });
    const anonymous = new Client(running.base);
    expect((await anonymous.get('/api/me')).body).toMatchObject({ role: 'admin', anonymous: true });
    expect((await anonymous.get('/api/mappings')).status).toBe(200);
    expect((await anonymous.get('/api/audit')).status).toBe(200);
  }, 90_000);

  it('is a config problem on a non-loopback http.host', async () => {
    const demo = await demoConfig((config) => {
      config.http = { ...config.http, host: '0.0.0.0', allowAnonymous: true };
    });
    const error = await loadConfig(demo.file).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => `${p.pointer}: ${p.message}`)).toEqual([
      '/http/allowAnonymous: anonymous access is only allowed when http.host is a loopback address (127.0.0.1, ::1, localhost), not "0.0.0.0"',
    ]);
  });

  it('serves nothing without an http block', async () => {
    const demo = await demoConfig((config) => {
      delete (config as Record<string, unknown>).http;
    });
    expect((await loadConfig(demo.file)).config.http).toMatchObject({ enabled: false });
  });

  it('refuses a token hash that is not one of ours, and duplicate token names', async () => {
    const demo = await demoConfig((config) => {
      config.http = {
        ...config.http,
        tokens: [
          { name: 'a', tokenHash: 'scrypt$99$8$1$AAAA$BBBB', role: 'viewer' },
          { name: 'a', tokenHash: 'scrypt$15$8$1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5', role: 'admin' },
        ],
      };
    });
    const error = (await loadConfig(demo.file).catch((err: unknown) => err)) as ConfigError;
    expect(error.problems.map((p) => `${p.pointer}: ${p.message}`)).toEqual([
      '/http/tokens/0/tokenHash: scrypt cost (log2 N) must be 10..20',
      '/http/tokens/1/name: token name "a" is used twice',
    ]);
  });

  it('opens /metrics to scrapers when http.metrics.anonymous, and nothing else', async () => {
    running = await startHttpGateway({ http: { metrics: { anonymous: true } } });
    const scraper = new Client(running.base);
    const metrics = await scraper.get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('tagwire_broker_connections');
    expect((await scraper.get('/api/status')).status).toBe(401);
  }, 90_000);
});
