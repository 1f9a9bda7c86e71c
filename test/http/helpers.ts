// A real gateway (demo config, Modbus simulator) with its HTTP API on a free loopback port, users
// of each role and a bearer token, and a small HTTP client that keeps a session cookie like a browser.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { hashPassword } from '../../src/broker/auth/password.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway, type GatewayOptions } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { demoConfig, repoRoot, type DemoConfig } from '../helpers/demo-config.js';
import { waitFor } from '../helpers/net.js';

export const PASSWORD = { viewer: 'view-pass-1', operator: 'oper-pass-1', admin: 'admin-pass-1' } as const;
export const TOKEN = 'tw_test-token-for-grafana-0123456789';

export interface HttpGatewayFixture {
  demo: DemoConfig;
  gateway: Gateway;
  base: string;
  /** The mapping file copied into the temporary config folder (safe to edit). */
  mappingFile: string;
  stop(): Promise<void>;
}

export interface FixtureOptions {
  /** Changes to the http block. */
  http?: Record<string, unknown>;
  gateway?: Partial<GatewayOptions>;
  /** Start it (default); false returns it created but not started. */
  start?: boolean;
  /** Runs on the config folder before the config is loaded (copy certificates in...). */
  prepare?: (dir: string) => void;
}

/** The demo with press1 only (its mapping copied next to the config), users ops-viewer/ops-operator/ops-admin. */
export async function startHttpGateway(options: FixtureOptions = {}): Promise<HttpGatewayFixture> {
  const users: Array<Record<string, string>> = [];
  for (const role of ['viewer', 'operator', 'admin'] as const)
    users.push({ username: `${role}1`, passwordHash: await hashPassword(PASSWORD[role]), role });
  // One user without a role: a viewer by default.
  users.push({ username: 'norole', passwordHash: await hashPassword('norole-pass') });
  const tokenHash = await hashPassword(TOKEN);
  const demo = await demoConfig((config) => {
    config.simulators.opcua = [];
    config.devices = config.devices.filter((d) => d.driver !== 'opcua');
    config.mappings = ['mappings/*.json'];
    (config.broker as Record<string, unknown>).users = users;
    config.http = {
      ...config.http,
      allowAnonymous: false,
      anonymousRole: 'operator',
      tokens: [{ name: 'grafana', tokenHash, role: 'viewer' }],
      ...options.http,
    };
  });
  mkdirSync(path.join(demo.dir, 'mappings'));
  const mappingFile = path.join(demo.dir, 'mappings', 'press1.json');
  copyFileSync(path.join(repoRoot, 'mappings/press1.json'), mappingFile);
  options.prepare?.(demo.dir);
  const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger(), ...options.gateway });
  const fixture: HttpGatewayFixture = {
    demo,
    gateway,
    base: `http://127.0.0.1:${demo.httpPort}`,
    mappingFile,
    stop: () => gateway.stop(),
  };
  if (options.start !== false) await gateway.start();
  return fixture;
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** An HTTP client with a cookie jar of one cookie (the session), sending Origin like a browser. */
export class Client {
  cookie: string | undefined;
  constructor(
    readonly base: string,
    private readonly extraHeaders: Record<string, string> = {},
  ) {}

  async request<T = unknown>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const all: Record<string, string> = { ...this.extraHeaders, ...headers };
    if (method !== 'GET' && method !== 'HEAD' && !('origin' in all)) all.origin = this.base;
    if (body !== undefined) all['content-type'] ??= 'application/json';
    if (this.cookie) all.cookie = this.cookie;
    for (const [k, v] of Object.entries(all)) if (v === '') delete all[k];
    const res = await fetch(this.base + url, {
      method,
      headers: all,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = res.headers.getSetCookie();
    for (const c of setCookie) {
      const [pair] = c.split(';');
      const [, value] = pair!.split('=');
      this.cookie = value ? pair : undefined;
    }
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = unknown>(url: string, headers?: Record<string, string>): Promise<Answer<T>> {
    return this.request<T>('GET', url, undefined, headers);
  }

  post<T = unknown>(url: string, body?: unknown, headers?: Record<string, string>): Promise<Answer<T>> {
    return this.request<T>('POST', url, body, headers);
  }

  put<T = unknown>(url: string, body?: unknown, headers?: Record<string, string>): Promise<Answer<T>> {
    return this.request<T>('PUT', url, body, headers);
  }

  async login(username: string, password: string): Promise<Answer> {
    return this.post('/api/login', { username, password });
  }
}

export async function loggedIn(base: string, role: keyof typeof PASSWORD): Promise<Client> {
  const client = new Client(base);
  const answer = await client.login(`${role}1`, PASSWORD[role]);
  if (answer.status !== 200) throw new Error(`login as ${role}1: ${answer.status} ${answer.text}`);
  return client;
}

/** Waits until the device's tags have values (the simulator answered). */
export async function waitForValues(client: Client, device = 'press1'): Promise<void> {
  await waitFor(
    async () => {
      const tags = await client.get<{ items: Array<{ value?: unknown }> }>(`/api/tags?device=${device}`);
      return (
        tags.status === 200 &&
        tags.body.items.length > 0 &&
        tags.body.items.every((t) => t.value !== undefined)
      );
    },
    30_000,
    `values of ${device}`,
  );
}
