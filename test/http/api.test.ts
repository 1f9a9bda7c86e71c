// The HTTP API over real HTTP against a running gateway and its Modbus simulator: every route, each
// role allowed and refused, sessions and their cookie, tokens, Origin checks, headers, secrets,
// writes through the command router (audited as http:<user>), live events and /metrics.
import mqtt, { type MqttClient } from 'mqtt';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/net.js';
import {
  Client,
  loggedIn,
  PASSWORD,
  startHttpGateway,
  TOKEN,
  waitForValues,
  type HttpGatewayFixture,
} from './helpers.js';
import { readEvents } from './sse.js';

let fx: HttpGatewayFixture;
let viewer: Client;
let operator: Client;
let admin: Client;
let anonymous: Client;
let token: Client;
let mqttClient: MqttClient;

beforeAll(async () => {
  // Enough login attempts for the tests' own logins; the last test uses up the rest.
  fx = await startHttpGateway({ http: { loginAttemptsPerMin: 30 } });
  [viewer, operator, admin] = await Promise.all([
    loggedIn(fx.base, 'viewer'),
    loggedIn(fx.base, 'operator'),
    loggedIn(fx.base, 'admin'),
  ]);
  anonymous = new Client(fx.base);
  token = new Client(fx.base, { authorization: `Bearer ${TOKEN}` });
  mqttClient = await mqtt.connectAsync(`mqtt://127.0.0.1:${fx.demo.mqttPort}`, { clientId: 'http-test-sub' });
  await mqttClient.subscribeAsync('acme/plant1/line1/press1/#');
  await waitForValues(viewer);
}, 90_000);

afterAll(async () => {
  await mqttClient?.endAsync();
  await fx?.stop();
});

const SETPOINT = '/api/tags/press1/setpoint';

/** Each route and the least role it needs. */
const ROUTES: Array<{
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  needs: 'viewer' | 'operator' | 'admin';
}> = [
  { method: 'GET', url: '/api/status', needs: 'viewer' },
  { method: 'GET', url: '/api/devices', needs: 'viewer' },
  { method: 'GET', url: '/api/devices/press1', needs: 'viewer' },
  { method: 'GET', url: '/api/tags', needs: 'viewer' },
  { method: 'GET', url: '/api/bridges', needs: 'viewer' },
  { method: 'GET', url: '/api/broker/clients', needs: 'viewer' },
  { method: 'GET', url: '/api/broker/topics', needs: 'viewer' },
  { method: 'GET', url: '/metrics', needs: 'viewer' },
  { method: 'POST', url: `${SETPOINT}/read`, body: {}, needs: 'viewer' },
  { method: 'POST', url: `${SETPOINT}/write`, body: { value: 20 }, needs: 'operator' },
  { method: 'GET', url: '/api/mappings', needs: 'admin' },
  { method: 'GET', url: `/api/mappings/${encodeURIComponent('mappings/press1.json')}`, needs: 'admin' },
  {
    method: 'POST',
    url: '/api/mappings/validate',
    body: { file: 'mappings/press1.json', content: '{}' },
    needs: 'admin',
  },
  { method: 'GET', url: '/api/audit', needs: 'admin' },
];

describe('health and readiness', () => {
  it('answers /healthz and /readyz without a login', async () => {
    expect((await anonymous.get('/healthz')).status).toBe(200);
    const ready = await anonymous.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });
});

describe('login, sessions and roles', () => {
  it('refuses every other route without a session or token (401)', async () => {
    for (const route of ROUTES) {
      const answer = await anonymous.request(route.method, route.url, route.body);
      expect(answer.status, `${route.method} ${route.url}`).toBe(401);
      expect((answer.body as { error: string }).error).toMatch(/log in/);
    }
    const me = await anonymous.get('/api/me');
    expect(me.status).toBe(401);
    expect(me.body).toMatchObject({ loginRequired: true });
    expect((await anonymous.get('/api/events')).status).toBe(401);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie (not Secure over plain HTTP)', async () => {
    const res = await fetch(`${fx.base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: fx.base },
      body: JSON.stringify({ username: 'viewer1', password: PASSWORD.viewer }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ user: 'viewer1', role: 'viewer' });
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(/^tagwire_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Strict/i);
    expect(cookie).toMatch(/; Path=\//i);
    expect(cookie).not.toMatch(/Secure/i);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const wrong = await new Client(fx.base).login('admin1', 'not-the-password');
    const unknown = await new Client(fx.base).login('nobody', 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toBe(unknown.text);
    expect(wrong.body).toEqual({ error: 'wrong username or password' });
    expect(wrong.headers.get('set-cookie')).toBeNull();
  });

  it('says who is logged in; a user without a role is a viewer', async () => {
    expect((await viewer.get('/api/me')).body).toEqual({
      user: 'viewer1',
      role: 'viewer',
      anonymous: false,
      loginRequired: true,
    });
    expect((await admin.get('/api/me')).body).toMatchObject({ user: 'admin1', role: 'admin' });
    const norole = new Client(fx.base);
    expect((await norole.login('norole', 'norole-pass')).body).toEqual({ user: 'norole', role: 'viewer' });
    expect((await token.get('/api/me')).body).toMatchObject({ user: 'grafana', role: 'viewer', token: true });
  });

  it('allows each route to its role and above, and refuses the others with 403 naming the role', async () => {
    const clients = { viewer: () => viewer, operator: () => operator, admin: () => admin };
    const rank = { viewer: 0, operator: 1, admin: 2 };
    for (const route of ROUTES) {
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const answer = await clients[role]().request(route.method, route.url, route.body);
        const what = `${role}: ${route.method} ${route.url} -> ${answer.status} ${answer.text.slice(0, 200)}`;
        if (rank[role] >= rank[route.needs]) {
          expect(answer.status, what).toBeLessThan(400);
        } else {
          expect(answer.status, what).toBe(403);
          expect((answer.body as { error: string }).error, what).toContain(`needs the ${route.needs} role`);
        }
      }
    }
  }, 60_000);

  it('takes a bearer token with its role, and refuses a wrong one', async () => {
    expect((await token.get('/api/tags')).status).toBe(200);
    // Token clients are not browsers: no Origin needed, but the role still applies.
    const write = await token.post(`${SETPOINT}/write`, { value: 5 }, { origin: '' });
    expect(write.status).toBe(403);
    const read = await token.post(`${SETPOINT}/read`, {}, { origin: '' });
    expect(read.status).toBe(200);
    const wrong = await new Client(fx.base, { authorization: 'Bearer tw_wrong' }).get('/api/tags');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'unknown or revoked token' });
    const malformed = await new Client(fx.base, { authorization: 'Basic abc' }).get('/api/tags');
    expect(malformed.status).toBe(401);
  });
});

describe('Origin checks', () => {
  it('refuses a state-changing request from another origin, or cross-site', async () => {
    const evil = await operator.post(`${SETPOINT}/write`, { value: 7 }, { origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect((evil.body as { error: string }).error).toContain('does not match this server');
    const crossSite = await operator.post(
      `${SETPOINT}/write`,
      { value: 7 },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    const login = await new Client(fx.base).login('admin1', PASSWORD.admin).then(() => undefined);
    expect(login).toBeUndefined();
    const foreignLogin = await new Client(fx.base).post(
      '/api/login',
      { username: 'admin1', password: PASSWORD.admin },
      { origin: 'http://evil.example' },
    );
    expect(foreignLogin.status).toBe(403);
  });

  it('refuses a session-cookie request without an Origin header', async () => {
    const bare = await operator.post(`${SETPOINT}/write`, { value: 7 }, { origin: '' });
    expect(bare.status).toBe(403);
    expect((bare.body as { error: string }).error).toContain('Origin');
  });
});

describe('read routes', () => {
  it('GET /api/status says what runs where', async () => {
    const status = await viewer.get<Record<string, unknown>>('/api/status');
    expect(status.body).toMatchObject({
      id: 'edge-demo',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      configFile: fx.demo.file,
      broker: {
        listeners: [`mqtt://127.0.0.1:${fx.demo.mqttPort}`, `ws://127.0.0.1:${fx.demo.wsPort}/mqtt`],
      },
      devices: [{ id: 'press1', driver: 'modbus', state: 'connected' }],
      bridges: [],
    });
    expect(status.body.uptimeSec).toEqual(expect.any(Number));
    expect((status.body.broker as { clients: number }).clients).toBeGreaterThanOrEqual(1);
  });

  it('GET /api/devices is fresh on every call (counters move while values flow)', async () => {
    const first =
      await viewer.get<Array<{ deviceId: string; requests: number; driver: string }>>('/api/devices');
    expect(first.body).toHaveLength(1);
    expect(first.body[0]).toMatchObject({ deviceId: 'press1', driver: 'modbus', state: 'connected' });
    await waitFor(
      async () =>
        (await viewer.get<{ requests: number }>('/api/devices/press1')).body.requests >
        first.body[0]!.requests,
      15_000,
      'the request counter to move',
    );
    const unknown = await viewer.get('/api/devices/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'no running device "nope"' });
  });

  it('GET /api/tags lists tags with their latest values, filters and pages', async () => {
    type Tags = { total: number; items: Array<Record<string, unknown>> };
    const all = await viewer.get<Tags>('/api/tags');
    expect(all.body.total).toBe(7);
    const setpoint = all.body.items.find((t) => t.name === 'setpoint');
    expect(setpoint).toMatchObject({
      device: 'press1',
      topic: 'acme/plant1/line1/press1/setpoint',
      address: 'hr:200',
      type: 'int16',
      unit: 'degC',
      writable: true,
      min: 0,
      max: 500,
      quality: 'good',
    });
    expect(setpoint!.ts).toEqual(expect.any(Number));
    expect(setpoint!.value).toEqual(expect.any(Number));
    const q = await viewer.get<Tags>('/api/tags?q=TEMP');
    expect(q.body.items.map((t) => t.name)).toEqual(['temperature']);
    const page = await viewer.get<Tags>('/api/tags?limit=2&offset=3');
    expect(page.body.total).toBe(7);
    expect(page.body.items.map((t) => t.name)).toEqual(all.body.items.slice(3, 5).map((t) => t.name));
    expect((await viewer.get<Tags>('/api/tags?device=oven1')).body).toEqual({ total: 0, items: [] });
    const bad = await viewer.get('/api/tags?limit=zero');
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/querystring \/limit: must be integer/);
  });

  it('GET /api/bridges, /api/broker/clients and /api/broker/topics', async () => {
    expect((await viewer.get('/api/bridges')).body).toEqual([]);
    const clients = await viewer.get<Array<Record<string, unknown>>>('/api/broker/clients');
    const sub = clients.body.find((c) => c.clientId === 'http-test-sub');
    expect(sub).toMatchObject({
      address: expect.stringContaining('127.0.0.1'),
      protocolVersion: 4,
      subscriptions: [{ filter: 'acme/plant1/line1/press1/#', qos: 0 }],
      queued: 0,
      connectedSince: expect.any(Number),
    });
    type Node = {
      name: string;
      topic: string;
      count: number;
      retained?: { payload: string };
      children: Node[];
    };
    const tree = await viewer.get<Node>('/api/broker/topics?prefix=acme/plant1/line1');
    expect(tree.body.topic).toBe('acme/plant1/line1');
    const press = tree.body.children.find((c) => c.name === 'press1')!;
    expect(press.count).toBeGreaterThanOrEqual(7);
    const temperature = press.children.find((c) => c.name === 'temperature')!;
    expect(temperature.topic).toBe('acme/plant1/line1/press1/temperature');
    expect(JSON.parse(temperature.retained!.payload)).toMatchObject({ quality: 'good', unit: 'degC' });
    const wildcard = await viewer.get('/api/broker/topics?prefix=acme/%23');
    expect(wildcard.status).toBe(400);
  });
});

describe('writes and reads through the command router', () => {
  it('writes as an operator, publishes the result on MQTT, and audits it as http:<user>', async () => {
    const results: string[] = [];
    mqttClient.on('message', (topic, payload) => {
      if (topic === 'acme/plant1/line1/press1/setpoint/set/result') results.push(payload.toString());
    });
    const answer = await operator.post(`${SETPOINT}/write`, { value: 123, requestId: 'http-1' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, value: 123, requestId: 'http-1', ts: expect.any(Number) });
    await waitFor(() => results.some((r) => r.includes('"http-1"')), 10_000, 'the result on MQTT');
    const read = await viewer.post<{ value: number; quality: string }>(`${SETPOINT}/read`, {});
    expect(read.body).toMatchObject({ value: 123, quality: 'good' });

    const audit = await admin.get<Array<Record<string, unknown>>>('/api/audit?device=press1&limit=5');
    expect(audit.status).toBe(200);
    const row = audit.body.find((r) => r.requestId === 'http-1');
    expect(row).toMatchObject({
      device: 'press1',
      tag: 'setpoint',
      identity: 'http:operator1',
      username: 'operator1',
      kind: 'set',
      value: 123,
      outcome: 'ok',
    });
    // Newest first: the viewer's read came after the write.
    expect(audit.body[0]).toMatchObject({ identity: 'http:viewer1', kind: 'get' });
    const csv = await admin.get('/api/audit?device=press1&limit=5', { accept: 'text/csv' });
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('ts,device,tag,identity,kind,value,outcome,error,requestId,durationMs');
    expect(lines.some((l) => l.includes(',setpoint,http:operator1,set,123,ok,,http-1,'))).toBe(true);
  });

  it('refuses what the router refuses, with the same error (422), and says why a body is bad (400)', async () => {
    const high = await operator.post(`${SETPOINT}/write`, { value: 900 });
    expect(high.status).toBe(422);
    expect(high.body).toEqual({ ok: false, error: 'value 900 above max 500' });
    const readOnly = await operator.post('/api/tags/press1/temperature/write', { value: 1 });
    expect(readOnly.status).toBe(422);
    expect(readOnly.body).toEqual({ ok: false, error: 'tag "temperature" is not writable' });
    const unknown = await operator.post('/api/tags/press1/nope/write', { value: 1 });
    expect(unknown.status).toBe(404);
    const missing = await operator.post(`${SETPOINT}/write`, { requestId: 'x' });
    expect(missing.status).toBe(400);
    expect((missing.body as { error: string }).error).toBe(
      "request body /value: must have required property 'value'",
    );
    const extra = await operator.post(`${SETPOINT}/write`, { value: 1, force: true });
    expect(extra.status).toBe(400);
    expect((extra.body as { error: string }).error).toContain('"force"');
    const notJson = await operator.post(`${SETPOINT}/write`, '{"value":', {
      'content-type': 'application/json',
    });
    expect(notJson.status).toBe(400);
    const refused = await admin.get<Array<{ outcome: string; error?: string }>>(
      '/api/audit?outcome=refused&limit=3',
    );
    expect(refused.body.length).toBeGreaterThan(0);
    for (const row of refused.body) expect(row.outcome).toBe('refused');
  });

  it('refuses bodies over the limit (413)', async () => {
    const big = await operator.post(`${SETPOINT}/write`, { value: 'x'.repeat(100_000) });
    expect(big.status).toBe(413);
    expect((big.body as { error: string }).error).toMatch(/too large/);
  });
});

describe('headers and secrets', () => {
  it('sends a strict CSP and security headers, and no-store on the API', async () => {
    const api = await viewer.get('/api/status');
    expect(api.headers.get('cache-control')).toBe('no-store');
    expect(api.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(api.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('x-frame-options')).toBe('DENY');
    const root = await anonymous.get('/');
    expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('never answers with a password, hash or token', async () => {
    const texts: string[] = [];
    for (const route of ROUTES.filter((r) => r.method === 'GET'))
      texts.push((await admin.get(route.url)).text);
    texts.push((await admin.get('/api/broker/topics?prefix=$SYS')).text);
    const all = texts.join('\n');
    expect(all).not.toContain('scrypt$');
    expect(all).not.toContain(TOKEN);
    for (const password of Object.values(PASSWORD)) expect(all).not.toContain(password);
  });
});

describe('live events', () => {
  it('GET /api/events streams tag values and device status', async () => {
    const { status, contentType, events } = await readEvents(
      `${fx.base}/api/events`,
      { cookie: viewer.cookie! },
      (seen) => seen.some((e) => e.event === 'tags') && seen.some((e) => e.event === 'device'),
    );
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    const device = events.find((e) => e.event === 'device')!.data;
    expect(device).toMatchObject({ deviceId: 'press1', state: 'connected', driver: 'modbus' });
    const tags = events.find((e) => e.event === 'tags')!.data as Array<Record<string, unknown>>;
    expect(tags[0]).toMatchObject({
      device: 'press1',
      name: expect.any(String),
      quality: expect.any(String),
      ts: expect.any(Number),
    });
  });

  it('GET /api/subscribe streams retained and live MQTT messages under a filter', async () => {
    const publisher = setInterval(() => void mqttClient.publish('acme/http-test/live', 'hello'), 100);
    try {
      const { status, events } = await readEvents(
        `${fx.base}/api/subscribe?filter=${encodeURIComponent('acme/#')}`,
        { authorization: `Bearer ${TOKEN}` },
        (seen) => seen.some((e) => (e.data as { topic: string }).topic === 'acme/http-test/live'),
      );
      expect(status).toBe(200);
      const retained = events.find((e) => (e.data as { retain: boolean }).retain)!.data;
      expect(retained).toMatchObject({
        topic: expect.stringMatching(/^acme\/plant1\//),
        qos: expect.any(Number),
      });
      const live = events.find((e) => (e.data as { topic: string }).topic === 'acme/http-test/live')!.data;
      expect(live).toMatchObject({ payload: 'hello', retain: false, qos: 0, ts: expect.any(Number) });
    } finally {
      clearInterval(publisher);
    }
    const bad = await viewer.get(`/api/subscribe?filter=${encodeURIComponent('acme/#/x')}`);
    expect(bad.status).toBe(400);
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text and has the broker, device, command and process families', async () => {
    await operator.post(`${SETPOINT}/write`, { value: 12 });
    await operator.post(`${SETPOINT}/write`, { value: 900 });
    const answer = await viewer.get('/metrics');
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheus(answer.text).map((f) => [f.name, f]));
    for (const name of [
      'tagwire_broker_connections',
      'tagwire_broker_messages_received_total',
      'tagwire_broker_messages_sent_total',
      'tagwire_broker_bytes_received_total',
      'tagwire_broker_bytes_sent_total',
      'tagwire_broker_retained_messages',
      'tagwire_broker_messages_dropped_total',
      'tagwire_device_connected',
      'tagwire_device_state',
      'tagwire_device_requests_total',
      'tagwire_device_errors_total',
      'tagwire_device_timeouts_total',
      'tagwire_device_round_trip_seconds',
      'tagwire_device_samples_total',
      'tagwire_device_overruns_total',
      'tagwire_commands_total',
      'tagwire_command_duration_seconds',
      'tagwire_bridge_connected',
      'tagwire_bridge_outbox_messages',
      'tagwire_bridge_outbox_bytes',
      'tagwire_bridge_outbox_oldest_age_seconds',
      'tagwire_bridge_sent_total',
      'tagwire_bridge_dropped_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(families.has(name), name).toBe(true);
    }
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(
        families.get(name)!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
          ?.value ?? NaN,
      );
    expect(value('tagwire_device_connected', { device: 'press1' })).toBe(1);
    expect(value('tagwire_device_state', { device: 'press1', state: 'connected' })).toBe(1);
    expect(value('tagwire_device_state', { device: 'press1', state: 'disconnected' })).toBe(0);
    expect(value('tagwire_device_requests_total', { device: 'press1' })).toBeGreaterThan(0);
    expect(value('tagwire_device_samples_total', { device: 'press1' })).toBeGreaterThan(0);
    expect(value('tagwire_broker_messages_received_total', { qos: '1' })).toBeGreaterThan(0);
    expect(value('tagwire_commands_total', { device: 'press1', outcome: 'ok' })).toBeGreaterThan(0);
    expect(value('tagwire_commands_total', { device: 'press1', outcome: 'refused' })).toBeGreaterThan(0);
    const rtt = families.get('tagwire_device_round_trip_seconds')!;
    expect(rtt.type).toBe('HISTOGRAM');
    // Every observation lands in the +Inf bucket (this parser drops the labels of histogram samples).
    expect(Number(rtt.metrics[0]!.buckets!['+Inf'])).toBeGreaterThan(0);
  });
});

describe('logout and the login rate limit', () => {
  it('ends the session on logout', async () => {
    const client = await loggedIn(fx.base, 'viewer');
    const cookie = client.cookie!;
    const out = await client.post('/api/logout');
    expect(out.status).toBe(204);
    expect(client.cookie).toBeUndefined();
    const after = await new Client(fx.base).get('/api/status', { cookie });
    expect(after.status).toBe(401);
  });

  it('ends an open event stream when its session logs out', async () => {
    const client = await loggedIn(fx.base, 'viewer');
    const reading = readEvents(`${fx.base}/api/events`, { cookie: client.cookie! }, () => false, 20_000);
    await waitFor(async () => (await client.post('/api/logout')).status === 204, 5000, 'logout');
    const { status, ended } = await reading;
    expect(status).toBe(200);
    expect(ended).toBe(true);
  }, 30_000);

  it('answers 429 once an address made too many attempts, even with the right password', async () => {
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++)
      status = (await new Client(fx.base).login('admin1', 'guess')).status;
    expect(status).toBe(429);
    const right = await new Client(fx.base).login('admin1', PASSWORD.admin);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(right.body).toEqual({ error: 'too many login attempts from this address; try again later' });
    // Sessions already open keep working.
    expect((await admin.get('/api/status')).status).toBe(200);
  });
});
