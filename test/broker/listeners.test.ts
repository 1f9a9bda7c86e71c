// Transports: TCP, TLS (with and without client certificates, CN as username), WebSocket and
// secure WebSocket, all at once on their own ports, with MQTT.js and mosquitto_sub as clients.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { DeliveredMessage } from '../../src/broker/api.js';
import { makePki } from '../bridge/helpers/certs.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { collect, connect, startBroker, subscribe, useBroker, waitForCount } from './helpers.js';

let dir: string;
const ports: Record<string, number> = {};
const file = (name: string) => path.join(dir, name);

const b = useBroker(() => {
  // The client certificate's CN is the username the mTLS listener takes (its ACL names it).
  dir = makePki({ clientCn: 'line-panel-7' }).dir;
  const tls = { cert: file('server.pem'), key: file('server.key') };
  return Promise.resolve({
    listeners: [
      { protocol: 'mqtt', host: '127.0.0.1', port: 0 },
      { protocol: 'mqtts', host: '127.0.0.1', port: 0, tls },
      {
        protocol: 'mqtts',
        host: '127.0.0.1',
        port: 0,
        allowAnonymous: false,
        tls: { ...tls, ca: file('ca.pem'), requireClientCert: true, certCnAsUsername: true },
      },
      { protocol: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
      { protocol: 'wss', host: '127.0.0.1', port: 0, path: '/mqtt', tls },
    ],
    acl: [
      { user: '$anonymous', publish: ['#'], subscribe: ['#'] },
      { user: 'line-panel-7', publish: ['panels/%u/#'], subscribe: ['panels/#'] },
    ],
  });
});
beforeAll(() => {
  const l = b.broker.listening();
  expect(l.map((x) => x.protocol)).toEqual(['mqtt', 'mqtts', 'mqtts', 'ws', 'wss']);
  expect(l.every((x) => x.port > 0 && x.host === '127.0.0.1')).toBe(true);
  ports.mqtt = l[0]!.port;
  ports.mqtts = l[1]!.port;
  ports.mtls = l[2]!.port;
  ports.ws = l[3]!.port;
  ports.wss = l[4]!.port;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function roundTrip(
  url: string,
  options: Record<string, unknown> = {},
  topic = `t/${url.split(':')[0]}`,
): Promise<void> {
  const watcher = await connect(`mqtt://127.0.0.1:${ports.mqtt}`);
  const got = collect(watcher);
  await subscribe(watcher, topic, { qos: 1 });
  const client = await connect(url, { protocolVersion: 5, ...options });
  const own = collect(client);
  await subscribe(client, topic, { qos: 1 });
  await client.publishAsync(topic, 'over the wire', { qos: 1 });
  await waitForCount(got, 1);
  await waitForCount(own, 1);
  expect(got[0]!.payload).toBe('over the wire');
}

describe('listeners', () => {
  it('TLS with the CA', async () => {
    await roundTrip(`mqtts://127.0.0.1:${ports.mqtts}`, {
      ca: readFileSync(file('ca.pem')),
      servername: 'localhost',
    });
  });

  it('WebSocket on /mqtt', async () => {
    await roundTrip(`ws://127.0.0.1:${ports.ws}/mqtt`);
  });

  it('secure WebSocket on /mqtt', async () => {
    await roundTrip(`wss://127.0.0.1:${ports.wss}/mqtt`, {
      ca: readFileSync(file('ca.pem')),
      servername: 'localhost',
    });
  });

  it('refuses a WebSocket on another path (HTTP 400)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${ports.ws}/other`, 'mqtt');
    const outcome = await new Promise<string>((resolve) => {
      ws.once('open', () => resolve('open'));
      ws.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      ws.once('error', (err) => resolve(`error ${err.message}`));
    });
    ws.terminate();
    expect(outcome).toBe('status 400');
  });

  it('mosquitto_pub over TLS reaches a TCP subscriber', async () => {
    const watcher = await connect(`mqtt://127.0.0.1:${ports.mqtt}`);
    const got = collect(watcher);
    await subscribe(watcher, 'tls/mosq', { qos: 1 });
    const res = await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(ports.mqtts),
      '--cafile',
      file('ca.pem'),
      '-t',
      'tls/mosq',
      '-m',
      'via tls',
      '-q',
      '1',
      '-V',
      '5',
    ]);
    expect(res.code).toBe(0);
    await waitForCount(got, 1);
    expect(got[0]!.payload).toBe('via tls');
  });
});

describe('client certificates', () => {
  it('takes the certificate CN as the username, for the ACL and the origin', async () => {
    const seen: DeliveredMessage[] = [];
    b.broker.subscribe('panels/#', (m) => seen.push(m));
    const client = await connect(`mqtts://127.0.0.1:${ports.mtls}`, {
      ca: readFileSync(file('ca.pem')),
      cert: readFileSync(file('client.pem')),
      key: readFileSync(file('client.key')),
      servername: 'localhost',
      clientId: 'panel-conn',
    });
    await client.publishAsync('panels/line-panel-7/state', 'up', { qos: 1 });
    await client.publishAsync('panels/someone-else/state', 'denied', { qos: 1 });
    await waitFor(() => seen.length === 1, 10_000, 'the allowed publish');
    expect(seen[0]!.origin).toEqual({ kind: 'client', clientId: 'panel-conn', username: 'line-panel-7' });
  });

  it('refuses a TLS client without a certificate where one is required', async () => {
    await expect(
      connect(`mqtts://127.0.0.1:${ports.mtls}`, {
        ca: readFileSync(file('ca.pem')),
        servername: 'localhost',
      }),
    ).rejects.toThrow();
  });
});

it('reports a listener that cannot open, with the listener named', async () => {
  await expect(
    startBroker({ listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: ports.mqtt }] }),
  ).rejects.toThrow(new RegExp(`listener mqtt://127.0.0.1:${ports.mqtt}: .*EADDRINUSE`));
  await expect(
    startBroker({
      listeners: [
        {
          protocol: 'mqtts',
          host: '127.0.0.1',
          port: 0,
          tls: { cert: file('missing.pem'), key: file('server.key') },
        },
      ],
    }),
  ).rejects.toThrow(/cannot read tls.cert .*missing.pem/);
});
