// $SYS statistics, and Debian's python3-paho-mqtt as a third, independent client.
import { expect, it } from 'vitest';
import { collect, connect, deliveredSoFar, subscribe, useBroker } from './helpers.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';

const b = useBroker({ sys: { intervalSec: 1 } });

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
  // The counters as of a period after every client above connected and subscribed.
  const latest = () => new Map(got.map((m) => [m.topic, m.payload]));
  await waitFor(
    () =>
      wanted.every((topic) => latest().has(topic)) &&
      latest().get('$SYS/broker/clients/connected') === '3' &&
      latest().get('$SYS/broker/subscriptions/count') === '2',
    10_000,
    `every $SYS topic, with 3 clients and 2 subscriptions (got ${JSON.stringify([...latest()])})`,
  );
  const now = latest();
  expect(Number(now.get('$SYS/broker/retained messages/count'))).toBeGreaterThanOrEqual(1);
  expect(Number(now.get('$SYS/broker/messages/received'))).toBeGreaterThanOrEqual(1);
  expect(now.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/);
  expect(everything.some((m) => m.topic.startsWith('$SYS'))).toBe(false);
  // Clients may not write $SYS.
  await pub.publishAsync('$SYS/broker/clients/connected', '999', { qos: 1 });
  await deliveredSoFar(pub, sys, got);
  expect(got.some((m) => m.payload === '999')).toBe(false);
});

const PAHO = String.raw`
import sys, threading
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
port, version = int(sys.argv[1]), sys.argv[2]
proto = mqtt.MQTTv5 if version == '5' else mqtt.MQTTv311
got = []
connected, subscribed, marked = threading.Event(), threading.Event(), threading.Event()
def on_message(cl, u, m):
    if m.topic == 'paho/end':
        marked.set()
    else:
        got.append((m.topic, m.payload.decode(), m.qos))
c = mqtt.Client(client_id='paho-' + version, protocol=proto)
c.on_connect = lambda *args: connected.set()
c.on_subscribe = lambda *args: subscribed.set()
c.on_message = on_message
if proto == mqtt.MQTTv5:
    c.connect('127.0.0.1', port, properties=None)
else:
    c.connect('127.0.0.1', port)
c.loop_start()
if not connected.wait(10):
    sys.exit('no CONNACK in 10 s')
c.subscribe('paho/#', qos=2)
if not subscribed.wait(10):
    sys.exit('no SUBACK in 10 s')
for q in (0, 1, 2):
    c.publish('paho/q%d' % q, 'hello %d' % q, qos=q).wait_for_publish(10)
# A marker last: delivery is in order, so once it is in, every copy of the three is in too.
c.publish('paho/end', 'marker', qos=2).wait_for_publish(10)
if not marked.wait(10):
    sys.exit('the marker did not come back in 10 s')
c.disconnect()
c.loop_stop()
for t, p, q in sorted(got):
    print(t, p, q)
`;

it.each(['311', '5'])('paho-mqtt (MQTT %s) publishes and receives at QoS 0, 1 and 2', async (version) => {
  const out = await run('/usr/bin/python3', ['-c', PAHO, String(b.port), version], 60_000);
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  expect(out.stdout.trim().split('\n')).toEqual([
    'paho/q0 hello 0 0',
    'paho/q1 hello 1 1',
    'paho/q2 hello 2 2',
  ]);
});
