// Fuzzing: random and mutated packets from many connections. Each connection gets the reaction
// the protocol asks for (checked below), and after each one a well-behaved publisher gets a message
// through to a well-behaved subscriber: all arrive, in order, and the broker still accepts new
// clients afterwards. The seed is printed so a failure can be replayed.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { collect, connect, subscribe, useBroker, waitForCount } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const FUZZ_CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 400);
const CONCURRENT = 20;

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

/** What one fuzzing connection sent, and what the broker did about it. */
interface Verdict {
  version: 4 | 5;
  /** The first bytes were a well-formed CONNECT. */
  validConnect: boolean;
  /** The first bytes were a well-formed packet other than CONNECT: a protocol violation. */
  startsWithoutConnect: boolean;
  received: Buffer;
  /** The broker closed the connection (before this side hung up). */
  closedByBroker: boolean;
}

const TERMINAL_WAIT_MS = 10_000;

function fuzzOne(port: number): Promise<Verdict> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const version = random() < 0.5 ? 4 : 5;
    const packets = corpus(version);
    const received: Buffer[] = [];
    const verdict: Verdict = {
      version,
      validConnect: false,
      startsWithoutConnect: false,
      received: Buffer.alloc(0),
      closedByBroker: false,
    };
    let hungUp = false;
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => received.push(d));
    socket.once('end', () => (verdict.closedByBroker = !hungUp));
    socket.once('close', () => {
      verdict.received = Buffer.concat(received);
      resolve(verdict);
    });
    const hangUp = () => {
      hungUp = true;
      socket.destroy();
    };
    socket.once('connect', () => {
      const chunks: Buffer[] = [];
      if (random() < 0.8) {
        verdict.validConnect = random() < 0.85;
        chunks.push(verdict.validConnect ? connectBytes(version) : mutate(connectBytes(version)));
      }
      for (let i = 0, n = 1 + int(8); i < n; i++) {
        const p = pick(packets);
        chunks.push(random() < 0.5 ? p : mutate(p));
      }
      verdict.startsWithoutConnect = chunks[0] !== undefined && packets.includes(chunks[0]);
      // Sometimes all at once, sometimes byte by byte in pieces.
      if (random() < 0.5) socket.write(Buffer.concat(chunks));
      else for (const c of chunks) socket.write(c);
      // A connection the broker must close (it broke the protocol from its first packet) is given
      // all the time it takes; the others hang up after a while, whatever state they are in.
      setTimeout(hangUp, verdict.startsWithoutConnect ? TERMINAL_WAIT_MS : 20 + int(150));
    });
  });
}

/**
 * What is wrong with the broker's reaction to one fuzzing connection, or null. A connection that
 * broke the protocol from its first packet is closed with nothing said (no version is agreed yet).
 * After a good CONNECT: the broker's bytes are well-formed packets of that version, CONNACK first
 * and only once, and a v5 DISCONNECT (or a refusing
 * CONNACK) carries an error reason, is the last thing said, and is followed by the close.
 */
function reactionProblem(v: Verdict): string | null {
  if (v.startsWithoutConnect) {
    if (!v.closedByBroker) return 'a connection starting without CONNECT was not closed';
    if (v.received.length > 0)
      return `a connection starting without CONNECT was answered: ${v.received.toString('hex')}`;
    return null;
  }
  if (!v.validConnect) return null; // a mangled CONNECT may read as anything, even as another version
  const parser = mqttPacket.parser({ protocolVersion: v.version });
  const got: mqttPacket.Packet[] = [];
  let parseError: string | null = null;
  parser.on('packet', (p: mqttPacket.Packet) => got.push(p));
  parser.on('error', (err: Error) => (parseError ??= err.message));
  parser.parse(v.received);
  if (parseError) return `the broker sent bytes that do not parse as MQTT ${v.version}: ${parseError}`;
  if (got.length === 0) return null;
  if (got[0]!.cmd !== 'connack') return `the broker's first packet was ${got[0]!.cmd}, not connack`;
  if (got.filter((p) => p.cmd === 'connack').length > 1) return 'the broker sent CONNACK twice';
  const last = got.at(-1)!;
  const refusing = (p: mqttPacket.Packet) =>
    (p.cmd === 'connack' && (p.reasonCode ?? p.returnCode ?? 0) !== 0) || p.cmd === 'disconnect';
  if (v.version === 4 && got.some((p) => p.cmd === 'disconnect')) return 'a 3.1.1 client got a DISCONNECT';
  for (const p of got) {
    if (!refusing(p)) continue;
    if (p !== last) return `the broker said more after ${p.cmd} ${JSON.stringify(p)}`;
    if (p.cmd === 'disconnect' && (p.reasonCode ?? 0) < 0x80)
      return `DISCONNECT without an error: ${p.reasonCode}`;
  }
  return null;
}

// Errors the broker logs are kept: the test shows them if any handler threw.
const errors: string[] = [];
const b = useBroker(
  { limits: { maxPacketSize: 4096, connectTimeoutMs: 500 } },
  { log: pino({ level: 'error' }, { write: (line: string) => errors.push(line) }) },
);

it(`survives random and mutated packets while good clients lose nothing (seed ${SEED})`, async () => {
  const sub = await connect(b.url, { protocolVersion: 5, clientId: 'good-subscriber' });
  const got = collect(sub);
  await subscribe(sub, 'good/stream', { qos: 1 });
  const pub = await connect(b.url, { protocolVersion: 4, clientId: 'good-publisher' });

  // After each fuzzing connection ends, the good publisher gets a QoS 1 message through (its
  // PUBACK awaited): the broker serves a healthy client after every bad one.
  const sent: string[] = [];
  const acked: Promise<unknown>[] = [];
  const problems: string[] = [];
  let started = 0;
  const running = new Set<Promise<void>>();
  while (started < FUZZ_CONNECTIONS) {
    while (running.size < CONCURRENT && started < FUZZ_CONNECTIONS) {
      const n = started++;
      const p: Promise<void> = fuzzOne(b.port).then((verdict) => {
        running.delete(p);
        const problem = reactionProblem(verdict);
        if (problem) problems.push(`connection ${n} (MQTT ${verdict.version}): ${problem}`);
        const payload = `after:${n}`;
        sent.push(payload);
        acked.push(pub.publishAsync('good/stream', payload, { qos: 1 }));
      });
      running.add(p);
    }
    await Promise.race(running);
  }
  await Promise.all(running);
  await Promise.all(acked);
  expect(problems, `seed ${SEED}`).toEqual([]);
  expect(sent).toHaveLength(FUZZ_CONNECTIONS);
  await waitForCount(got, sent.length, `${sent.length} good messages (seed ${SEED})`, 20_000);
  expect(got.map((m) => m.payload)).toEqual(sent);
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
