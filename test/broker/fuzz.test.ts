// Fuzzing: random and mutated packets from many connections while a well-behaved publisher and
// subscriber keep working. Every one of their messages must arrive, in order, and the broker must
// still accept new clients afterwards. The seed is printed so a failure can be replayed.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  closeClients,
  collect,
  connect,
  startBroker,
  subscribe,
  waitForCount,
  type TestBroker,
} from './helpers.js';
import { sleep } from '../helpers/net.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const FUZZ_CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 400);
const CONCURRENT = 20;
const GOOD_MESSAGES = 300;

/** mulberry32: small, seedable, good enough to pick mutations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (n: number): number => Math.floor(random() * n);

function corpus(version: 4 | 5): Buffer[] {
  const g = (p: mqttPacket.Packet) => mqttPacket.generate(p, { protocolVersion: version });
  const props5 = version === 5;
  return [
    g({ cmd: 'publish', topic: 'fz/a', payload: Buffer.from('payload'), qos: 0, retain: false, dup: false }),
    g({
      cmd: 'publish',
      topic: 'fz/b/c',
      payload: Buffer.alloc(300, 7),
      qos: 1,
      messageId: 11,
      retain: true,
      dup: false,
    }),
    g({
      cmd: 'publish',
      topic: 'fz/q2',
      payload: Buffer.from('x'),
      qos: 2,
      messageId: 12,
      retain: false,
      dup: false,
      ...(props5 && {
        properties: {
          topicAlias: 1,
          responseTopic: 'fz/r',
          correlationData: Buffer.from('c'),
          userProperties: { k: 'v' },
          messageExpiryInterval: 5,
        },
      }),
    }),
    g({
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: 'fz/#', qos: 2 },
        { topic: '$share/g/fz/+', qos: 1 },
      ],
      ...(props5 && { properties: { subscriptionIdentifier: 5 } }),
    }),
    g({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['fz/#'] }),
    g({ cmd: 'puback', messageId: 1 }),
    g({ cmd: 'pubrec', messageId: 2 }),
    g({ cmd: 'pubrel', messageId: 12 }),
    g({ cmd: 'pubcomp', messageId: 3 }),
    g({ cmd: 'pingreq' }),
    g({ cmd: 'disconnect', ...(props5 && { reasonCode: 0x04 }) }),
  ];
}

function connectBytes(version: 4 | 5): Buffer {
  return mqttPacket.generate(
    {
      cmd: 'connect',
      clientId: `fz-${int(30)}`, // collisions on purpose: takeovers among fuzzers
      protocolVersion: version,
      protocolId: 'MQTT',
      clean: random() < 0.7,
      keepalive: int(5),
      ...(random() < 0.3 && { will: { topic: 'fz/will', payload: Buffer.from('w'), qos: 1, retain: false } }),
      ...(version === 5 && {
        properties: { sessionExpiryInterval: int(3), receiveMaximum: 1 + int(3), topicAliasMaximum: int(3) },
      }),
    },
    { protocolVersion: version },
  );
}

function mutate(bytes: Buffer): Buffer {
  const b = Buffer.from(bytes);
  switch (int(6)) {
    case 0: // flip bits
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)]! ^= 1 << int(8);
      return b;
    case 1: // random byte values
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)] = int(256);
      return b;
    case 2: // truncate
      return b.subarray(0, int(b.length));
    case 3: // lie about the remaining length
      b[1] = int(256);
      return b;
    case 4: // splice two packets
      return Buffer.concat([b.subarray(0, int(b.length)), b.subarray(int(b.length))]);
    default: // garbage
      return Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)));
  }
}

function fuzzOne(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    const version = random() < 0.5 ? 4 : 5;
    const packets = corpus(version);
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.once('close', done);
    socket.once('connect', () => {
      const chunks: Buffer[] = [];
      if (random() < 0.8)
        chunks.push(random() < 0.85 ? connectBytes(version) : mutate(connectBytes(version)));
      for (let i = 0, n = 1 + int(8); i < n; i++) {
        const p = pick(packets);
        chunks.push(random() < 0.5 ? p : mutate(p));
      }
      // Sometimes all at once, sometimes byte by byte in pieces.
      if (random() < 0.5) socket.write(Buffer.concat(chunks));
      else for (const c of chunks) socket.write(c);
      setTimeout(done, 20 + int(150));
    });
  });
}

let b: TestBroker;
const errors: string[] = [];
beforeAll(async () => {
  // Errors the broker logs are kept: the test shows them if any handler threw.
  const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
  b = await startBroker({ limits: { maxPacketSize: 4096, connectTimeoutMs: 500 } }, undefined, log);
});
afterAll(async () => {
  await closeClients();
  await b.stop();
});

it(`survives random and mutated packets while good clients lose nothing (seed ${SEED})`, async () => {
  const sub = await connect(b.url, { protocolVersion: 5, clientId: 'good-subscriber' });
  const got = collect(sub);
  await subscribe(sub, 'good/stream', { qos: 1 });
  const pub = await connect(b.url, { protocolVersion: 4, clientId: 'good-publisher' });

  let fuzzing = true;
  const fuzzers = (async () => {
    let started = 0;
    const running = new Set<Promise<void>>();
    while (started < FUZZ_CONNECTIONS) {
      while (running.size < CONCURRENT && started < FUZZ_CONNECTIONS) {
        const p = fuzzOne(b.port).finally(() => running.delete(p));
        running.add(p);
        started++;
      }
      await Promise.race(running);
    }
    await Promise.all(running);
    fuzzing = false;
  })();

  for (let i = 0; i < GOOD_MESSAGES; i++) {
    await pub.publishAsync('good/stream', `seq:${i}`, { qos: 1 });
    if (i % 10 === 0) await sleep(5);
  }
  await fuzzers;
  expect(fuzzing).toBe(false);
  await waitForCount(got, GOOD_MESSAGES, `${GOOD_MESSAGES} good messages (seed ${SEED})`, 20_000);
  expect(got.map((m) => m.payload)).toEqual(Array.from({ length: GOOD_MESSAGES }, (_, i) => `seq:${i}`));
  expect(sub.connected && pub.connected).toBe(true);

  const late = await connect(b.url, { protocolVersion: 5 });
  const lateGot = collect(late);
  await subscribe(late, 'after/fuzz', { qos: 1 });
  await pub.publishAsync('after/fuzz', 'still fine', { qos: 1 });
  await waitForCount(lateGot, 1);
  expect(b.broker.stats().protocolErrors).toBeGreaterThan(0);
  expect(errors).toEqual([]);
  expect(b.broker.stats().internalErrors).toBe(0);
});
