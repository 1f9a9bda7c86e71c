// $SYS statistics, and Debian's python3-paho-mqtt as a third, independent client.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  closeClients,
  collect,
  connect,
  subscribe,
  startBroker,
  waitForCount,
  type TestBroker,
} from './helpers.js';
import { sleep } from '../helpers/net.js';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker({ sys: { intervalSec: 1 } });
});
afterEach(closeClients);
afterAll(() => b.stop());

it('publishes $SYS/broker statistics, retained, and keeps them out of #', async () => {
  const all = await connect(b.url);
  const everything = collect(all);
  await subscribe(all, '#', { qos: 0 });
  const pub = await connect(b.url);
  await pub.publishAsync('sys/probe', 'x', { qos: 1, retain: true });
  const sys = await connect(b.url);
  const got = collect(sys);
  await subscribe(sys, '$SYS/broker/#', { qos: 0 });
  const wanted = [
    '$SYS/broker/clients/connected',
    '$SYS/broker/messages/received',
    '$SYS/broker/messages/sent',
    '$SYS/broker/bytes/received',
    '$SYS/broker/bytes/sent',
    '$SYS/broker/subscriptions/count',
    '$SYS/broker/retained messages/count',
    '$SYS/broker/uptime',
  ];
  await waitForCount(got, wanted.length);
  await sleep(1200); // one more period, after every client above is counted
  const latest = new Map(got.map((m) => [m.topic, m.payload]));
  for (const topic of wanted) expect(latest.has(topic), topic).toBe(true);
  expect(Number(latest.get('$SYS/broker/clients/connected'))).toBe(3);
  expect(Number(latest.get('$SYS/broker/subscriptions/count'))).toBe(2);
  expect(Number(latest.get('$SYS/broker/retained messages/count'))).toBeGreaterThanOrEqual(1);
  expect(Number(latest.get('$SYS/broker/messages/received'))).toBeGreaterThanOrEqual(1);
  expect(latest.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
  expect(everything.some((m) => m.topic.startsWith('$SYS'))).toBe(false);
  // Clients may not write $SYS.
  await pub.publishAsync('$SYS/broker/clients/connected', '999', { qos: 1 });
  await sleep(100);
  expect(got.some((m) => m.payload === '999')).toBe(false);
});

const PAHO = String.raw`
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
port, version = int(sys.argv[1]), sys.argv[2]
proto = mqtt.MQTTv5 if version == '5' else mqtt.MQTTv311
got = []
c = mqtt.Client(client_id='paho-' + version, protocol=proto)
c.on_message = lambda cl, u, m: got.append((m.topic, m.payload.decode(), m.qos))
if proto == mqtt.MQTTv5:
    c.connect('127.0.0.1', port, properties=None)
else:
    c.connect('127.0.0.1', port)
c.loop_start()
time.sleep(0.2)
c.subscribe('paho/#', qos=2)
time.sleep(0.3)
for q in (0, 1, 2):
    c.publish('paho/q%d' % q, 'hello %d' % q, qos=q).wait_for_publish(5)
deadline = time.time() + 10
while len(got) < 3 and time.time() < deadline:
    time.sleep(0.05)
c.disconnect()
c.loop_stop()
for t, p, q in sorted(got):
    print(t, p, q)
`;

it.each(['311', '5'])('paho-mqtt (MQTT %s) publishes and receives at QoS 0, 1 and 2', async (version) => {
  const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn('/usr/bin/python3', ['-c', PAHO, String(b.port), version], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('error', reject);
      child.once('close', (code) => (clearTimeout(t), resolve({ code, stdout, stderr })));
    },
  );
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  expect(out.stdout.trim().split('\n')).toEqual([
    'paho/q0 hello 0 0',
    'paho/q1 hello 1 1',
    'paho/q2 hello 2 2',
  ]);
});
