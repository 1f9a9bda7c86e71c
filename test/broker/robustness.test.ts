// Bad clients hurt only themselves: malformed packets, protocol violations and silent peers close
// that one connection while a well-behaved client carries on.
import { expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import {
  collect,
  connect,
  connectPacket,
  pingRoundTrip,
  rawSocket,
  startBroker,
  subscribe,
  useBroker,
  waitForCount,
} from './helpers.js';
import { sleep, waitFor } from '../helpers/net.js';

const b = useBroker();

it('closes a connection that sends garbage, and only that one', async () => {
  const good = await connect(b.url);
  const got = collect(good);
  await subscribe(good, 'still/alive', { qos: 1 });

  const before = await rawSocket(b.port);
  before.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x00]));
  await before.ended;

  const after = await rawSocket(b.port);
  after.write(connectPacket('raw-bad'));
  await waitFor(() => after.received.length > 0, 10_000, 'CONNACK');
  // PUBLISH with both QoS bits set is malformed (MQTT-3.3.1-4).
  after.write(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]));
  await after.ended;

  await good.publishAsync('still/alive', 'yes', { qos: 1 });
  await waitForCount(got, 1);
  expect(got[0]!.payload).toBe('yes');
});

it('closes a connection whose first packet is not CONNECT', async () => {
  const s = await rawSocket(b.port);
  s.write(mqttPacket.generate({ cmd: 'pingreq' }));
  await s.ended;
});

it('sends v5 DISCONNECT with reason 0x81 on a malformed packet after CONNECT', async () => {
  const s = await rawSocket(b.port);
  s.write(connectPacket('raw-v5', { protocolVersion: 5 }));
  await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
  // SUBSCRIBE must have header flags 0b0010 (MQTT-3.8.1-1); 0x80 is malformed.
  s.write(Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]));
  await s.ended;
  const all = s.all();
  const disconnectAt = all.indexOf(0xe0, 2);
  expect(disconnectAt).toBeGreaterThan(0);
  expect(all[disconnectAt + 2]).toBe(0x81);
});

it('drops a client silent past 1.5 times its keep alive', async () => {
  const s = await rawSocket(b.port);
  s.write(connectPacket('sleepy', { keepalive: 1 }));
  await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
  const started = Date.now();
  await s.ended;
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
});

it('answers PINGREQ and keeps a pinging client', async () => {
  const s = await rawSocket(b.port);
  s.write(connectPacket('pinger', { keepalive: 1 }));
  await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
  // Past twice the 1.5 s the broker would allow a silent client, each PINGREQ answered.
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    await pingRoundTrip(s);
    await sleep(300);
  }
  expect(s.socket.destroyed).toBe(false);
});

it('refuses a packet larger than the maximum packet size', async () => {
  const small = await startBroker({ limits: { maxPacketSize: 1024 } });
  try {
    const s = await rawSocket(small.port);
    s.write(connectPacket('big'));
    await waitFor(() => s.received.length > 0, 10_000, 'CONNACK');
    s.write(
      mqttPacket.generate({
        cmd: 'publish',
        topic: 'big',
        payload: Buffer.alloc(5000),
        qos: 0,
        retain: false,
        dup: false,
      }),
    );
    await s.ended;
  } finally {
    await small.stop();
  }
});

it('tells v5 clients it is shutting down (DISCONNECT 0x8B) when stopped', async () => {
  const own = await startBroker();
  const client = await connect(own.url, { protocolVersion: 5 });
  const reason = new Promise<number | undefined>((resolve) =>
    client.once('disconnect', (p) => resolve(p.reasonCode)),
  );
  await own.stop();
  expect(await reason).toBe(0x8b);
});
