// The upstream connection against a real Mosquitto: failure reasons, TLS with a client certificate.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../src/bridge/config.js';
import {
  backoffDelay,
  Upstream,
  type ConnectedSession,
  type UpstreamFailure,
} from '../../src/bridge/upstream.js';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { silentLogger } from '../../src/log.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { makePki, type TestPki } from './helpers/certs.js';

function watch(raw: Record<string, unknown>) {
  const cfg = parseBridgeConfig({ name: 'up', reconnect: { minDelayMs: 100, maxDelayMs: 400 }, ...raw });
  const failures: UpstreamFailure[] = [];
  const sessions: ConnectedSession[] = [];
  const upstream = new Upstream(
    cfg,
    `t-${Math.random().toString(16).slice(2)}`,
    undefined,
    {
      onConnected: (s) => sessions.push(s),
      onDisconnected: (f) => failures.push(f),
      onAttemptFailed: (f) => failures.push(f),
    },
    silentLogger(),
  );
  upstream.start();
  return { upstream, failures, sessions };
}

describe('upstream connection', () => {
  let pki: TestPki;
  const brokers: MosquittoBroker[] = [];
  const upstreams: Upstream[] = [];
  const stoppers: (() => Promise<void>)[] = [];

  beforeAll(() => {
    pki = makePki();
  });
  afterEach(async () => {
    await Promise.all(upstreams.splice(0).map((u) => u.stop()));
    await Promise.all(brokers.splice(0).map((b) => b.stop()));
    await Promise.all(stoppers.splice(0).map((stop) => stop()));
  });
  afterAll(() => rmSync(pki.dir, { recursive: true, force: true }));

  it('backs off exponentially with jitter, within bounds', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(20, 1000, 60_000, () => 0.5)).toBe(45_000);
  });

  it('reports a closed port as refused, and keeps retrying', async () => {
    const port = await freePort();
    const w = watch({ url: `mqtt://127.0.0.1:${port}` });
    upstreams.push(w.upstream);
    await waitFor(() => w.failures.length >= 2, 10_000, 'two failed attempts');
    expect(w.failures[0]!.kind).toBe('refused');
    expect(w.failures[0]!.message).toMatch(/ECONNREFUSED/);
  });

  it.each([4, 5] as const)(
    'reports bad credentials (MQTT v%i), then connects with good ones',
    async (version) => {
      const broker = await startMosquitto({ extraConfig: 'user root' });
      await broker.stop();
      const passwd = path.join(broker.dir, 'passwd');
      execFileSync('mosquitto_passwd', ['-b', '-c', passwd, 'edge', 'secret']);
      const port = await freePort();
      const secured = await startMosquitto({
        extraConfig: `user root\nlistener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${passwd}`,
        port,
      });
      brokers.push(secured);
      const bad = watch({
        url: `mqtt://127.0.0.1:${port}`,
        protocolVersion: version,
        username: 'edge',
        password: 'wrong',
      });
      upstreams.push(bad.upstream);
      await waitFor(() => bad.failures.length >= 1, 10_000, 'a refusal');
      expect(bad.failures[0]!.kind).toBe('bad-credentials');
      expect(bad.failures[0]!.message).toMatch(/not authorized/i);
      const good = watch({
        url: `mqtt://127.0.0.1:${port}`,
        protocolVersion: version,
        username: 'edge',
        password: 'secret',
      });
      upstreams.push(good.upstream);
      await waitFor(() => good.sessions.length === 1, 10_000, 'a connection');
    },
  );

  it('connects over WebSocket where the upstream only allows that', async () => {
    // Debian's Mosquitto cannot open a WebSocket listener here (libwebsockets): the upstream is
    // tagwire's own broker with only a ws listener, checked by its own tests against MQTT.js.
    const port = await freePort();
    const wsBroker = new Broker({
      config: parseBrokerConfig({
        listeners: [{ protocol: 'ws', host: '127.0.0.1', port, path: '/mqtt' }],
        sys: { intervalSec: 0 },
      }),
      log: silentLogger(),
    });
    await wsBroker.start();
    stoppers.push(() => wsBroker.stop());
    const got: string[] = [];
    wsBroker.subscribe('ws/#', (m) => got.push(m.payload.toString()));
    const ws = watch({ url: `ws://127.0.0.1:${port}/mqtt`, protocolVersion: 5 });
    upstreams.push(ws.upstream);
    await waitFor(() => ws.sessions.length === 1, 15_000, 'a WebSocket connection');
    await ws.sessions[0]!.client.publishAsync('ws/ok', 'over ws', { qos: 1 });
    await waitFor(() => got.includes('over ws'), 10_000, 'the message over WebSocket');
  });

  it('connects over TLS with a CA and a client certificate made by the test; a wrong CA is a TLS error', async () => {
    const port = await freePort();
    const broker = await startMosquitto({
      port,
      extraConfig: [
        'user root',
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        `cafile ${pki.ca}`,
        `certfile ${pki.serverCert}`,
        `keyfile ${pki.serverKey}`,
        'require_certificate true',
      ].join('\n'),
    });
    brokers.push(broker);
    const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'localhost' };
    const ok = watch({ url: `mqtts://127.0.0.1:${port}`, tls });
    upstreams.push(ok.upstream);
    await waitFor(() => ok.sessions.length === 1, 15_000, 'a TLS connection');
    await new Promise<void>((resolve, reject) =>
      ok.sessions[0]!.client.publish('tls/ok', 'x', { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );

    const wrongCa = watch({ url: `mqtts://127.0.0.1:${port}`, tls: { ...tls, ca: pki.otherCa } });
    upstreams.push(wrongCa.upstream);
    await waitFor(() => wrongCa.failures.length >= 1, 15_000, 'a TLS failure');
    expect(wrongCa.failures[0]!.kind).toBe('tls');

    const noClientCert = watch({
      url: `mqtts://127.0.0.1:${port}`,
      tls: { ca: pki.ca, servername: 'localhost' },
    });
    upstreams.push(noClientCert.upstream);
    await waitFor(() => noClientCert.failures.length >= 1, 15_000, 'a refused handshake');
    expect(noClientCert.sessions).toHaveLength(0);
    expect(['tls', 'closed']).toContain(noClientCert.failures[0]!.kind);
  });
});
