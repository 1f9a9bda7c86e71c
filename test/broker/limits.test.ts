// Limits that protect the gateway: connections, per-session queues (QoS 0 dropped first, full of
// QoS 1/2 disconnects), CONNECT rate per address, connect timeout, topic length and levels.
import { expect, it } from 'vitest';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket, ISubackPacket } from 'mqtt-packet';
import {
  brokersPerTest,
  connectPacket,
  packet,
  parsePackets,
  rawSocket,
  type TestBroker,
} from './helpers.js';
import { sleep, waitFor } from '../helpers/net.js';

const { start } = brokersPerTest();
const broker = (limits: Record<string, unknown>): Promise<TestBroker> => start({ limits });

async function v5(b: TestBroker, clientId: string, properties: Record<string, unknown> = {}) {
  const s = await rawSocket(b.port);
  s.write(connectPacket(clientId, { protocolVersion: 5, properties }));
  await waitFor(() => parsePackets(s.all(), 5).length > 0, 10_000, 'CONNACK');
  return s;
}

const publishes = (bytes: Buffer) =>
  parsePackets(bytes, 5).filter((p): p is IPublishPacket => p.cmd === 'publish');

it('refuses connections beyond maxConnections with 0x89 (v5) / 3 (v3.1.1)', async () => {
  const b = await broker({ maxConnections: 2 });
  await v5(b, 'one');
  await v5(b, 'two');
  const third = await rawSocket(b.port);
  third.write(connectPacket('three', { protocolVersion: 5 }));
  await third.ended;
  expect((parsePackets(third.all(), 5)[0] as IConnackPacket).reasonCode).toBe(0x89);
  const fourth = await rawSocket(b.port);
  fourth.write(connectPacket('four'));
  await fourth.ended;
  expect((parsePackets(fourth.all())[0] as IConnackPacket).returnCode).toBe(3);
});

it('drops the oldest queued QoS 0 first, and disconnects a client whose queue is full of QoS 1 (0x97)', async () => {
  const b = await broker({ maxQueuedMessages: 5 });
  const s = await v5(b, 'stuck', { receiveMaximum: 1 });
  s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q/#', qos: 1 }] }, 5));
  await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
  const send = (name: string, qos: 0 | 1) =>
    b.broker.publish({ topic: `q/${name}`, payload: Buffer.from(name), qos, retain: false });
  send('a', 1); // in flight
  send('b', 1); // queued behind the window
  for (const name of ['c', 'd', 'e', 'f']) send(name, 0); // queued to keep order: 5 queued now
  send('g', 0); // queue full: 'c', the oldest QoS 0, goes
  await waitFor(() => publishes(s.all()).length === 1, 10_000, 'the first PUBLISH');
  s.write(packet({ cmd: 'puback', messageId: publishes(s.all())[0]!.messageId }, 5));
  await waitFor(() => publishes(s.all()).length === 6, 10_000, 'the rest');
  expect(publishes(s.all()).map((p) => p.topic)).toEqual(['q/a', 'q/b', 'q/d', 'q/e', 'q/f', 'q/g']);

  // 'b' stays unacknowledged: five more QoS 1 fill the queue, the sixth overflows it.
  for (let i = 0; i < 6; i++) send(`x${i}`, 1);
  await s.ended;
  const disconnect = parsePackets(s.all(), 5).find((p) => p.cmd === 'disconnect') as IDisconnectPacket;
  expect(disconnect.reasonCode).toBe(0x97);
});

it('keeps the newest QoS 0 messages for a subscriber that stopped reading', async () => {
  const b = await broker({ maxQueuedMessages: 10 });
  const s = await v5(b, 'slow-reader');
  s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big/#', qos: 0 }] }, 5));
  await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
  s.socket.pause();
  // 64 KiB payloads: the socket buffers fill, the connection congests, the queue overflows at its
  // head (oldest QoS 0 first) again and again.
  const payload = Buffer.alloc(64 * 1024, 0x61);
  const total = 400;
  for (let i = 0; i < total; i++) {
    b.broker.publish({ topic: `big/${i}`, payload, qos: 0, retain: false });
    if (i % 50 === 49) await sleep(20); // pacing: the broker's writes reach the socket buffers
  }
  await waitFor(() => b.broker.stats().messagesDropped > 0, 10_000, 'the queue to overflow');
  s.socket.resume();
  await waitFor(
    () => publishes(s.all()).some((p) => p.topic === `big/${total - 1}`),
    20_000,
    'the newest message',
  );
  const topics = publishes(s.all()).map((p) => Number(p.topic.split('/')[1]));
  expect(topics.length).toBeLessThan(total); // some were dropped...
  expect(topics.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => total - 10 + i)); // ...never the newest
  expect([...topics].sort((x, y) => x - y)).toEqual(topics); // and order is kept
  // Every message is either delivered or counted as dropped ($SYS/broker/messages/dropped).
  const stats = (b.broker as unknown as { core: { stats: { messagesDropped: number } } }).core.stats;
  expect(stats.messagesDropped).toBe(total - topics.length);
});

it('limits CONNECT attempts per address (v5 0x9F)', async () => {
  const b = await broker({ connectRatePerAddress: 3, connectWaitMs: 0 });
  // Ten at once from 127.0.0.1: at most 3 (plus what refills meanwhile) get in.
  const sockets = await Promise.all(Array.from({ length: 10 }, () => rawSocket(b.port)));
  sockets.forEach((s, i) => s.write(connectPacket(`fast-${i}`, { protocolVersion: 5 })));
  await waitFor(() => sockets.every((s) => parsePackets(s.all(), 5).length > 0), 10_000, 'ten CONNACKs');
  const codes = sockets.map((s) => (parsePackets(s.all(), 5)[0] as IConnackPacket).reasonCode);
  expect(codes.filter((c) => c === 0).length).toBeGreaterThanOrEqual(3);
  expect(codes.filter((c) => c === 0x9f).length).toBeGreaterThanOrEqual(5);
  expect(codes.every((c) => c === 0 || c === 0x9f)).toBe(true);
});

it('closes a connection that sends no CONNECT in time', async () => {
  const b = await broker({ connectTimeoutMs: 200 });
  const s = await rawSocket(b.port);
  await s.ended;
  expect(s.all().length).toBe(0);
});

it('enforces topic length and level limits on publish (0x90) and subscribe (0x8F)', async () => {
  const b = await broker({ maxTopicLevels: 3, maxTopicLength: 20 });
  const sub = await v5(b, 'deep-sub');
  sub.write(
    packet(
      {
        cmd: 'subscribe',
        messageId: 2,
        subscriptions: [
          { topic: 'a/b/c/d', qos: 0 },
          { topic: 'a/b/#', qos: 0 },
          { topic: 'x'.repeat(21), qos: 0 },
        ],
      },
      5,
    ),
  );
  await waitFor(() => parsePackets(sub.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
  expect((parsePackets(sub.all(), 5).find((p) => p.cmd === 'suback') as ISubackPacket).granted).toEqual([
    0x8f, 0, 0x8f,
  ]);
  const pub = await v5(b, 'deep-pub');
  pub.write(
    packet(
      { cmd: 'publish', topic: 'a/b/c/d', payload: Buffer.from('x'), qos: 0, retain: false, dup: false },
      5,
    ),
  );
  await pub.ended;
  expect(
    (parsePackets(pub.all(), 5).find((p) => p.cmd === 'disconnect') as IDisconnectPacket).reasonCode,
  ).toBe(0x90);
});

it('delivers every QoS 0 message of a burst larger than the congestion mark to a reading client', async () => {
  const b = await broker({ maxQueuedMessages: 100_000 });
  const s = await v5(b, 'burst-reader');
  s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'burst', qos: 0 }] }, 5));
  await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
  // 3 MB in one tick: well over the 1 MB a connection may hold before QoS 0 waits in its queue.
  const payload = Buffer.alloc(3000, 7);
  for (let i = 0; i < 1000; i++) b.broker.publish({ topic: 'burst', payload, qos: 0, retain: false });
  await waitFor(() => s.all().length >= 1000 * 3009, 20_000, 'the whole burst');
  expect(publishes(s.all())).toHaveLength(1000);
});
