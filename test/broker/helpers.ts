// Shared setup for broker tests: a broker on a free loopback port, MQTT.js clients, raw sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type IConnackPacket } from 'mqtt-packet';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import type { RoutedMessage } from '../../src/broker/message.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { silentLogger, type Logger } from '../../src/log.js';
import { Database } from '../../src/store/db.js';
import { waitFor } from '../helpers/net.js';

export interface TestBroker {
  broker: Broker;
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** A broker with one TCP listener on a free port (plus whatever `raw` adds), $SYS off unless asked. */
export async function startBroker(
  raw: Record<string, unknown> = {},
  db?: Database,
  log: Logger = silentLogger(),
): Promise<TestBroker> {
  const config = parseBrokerConfig({
    listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }],
    sys: { intervalSec: 0 },
    ...raw,
  });
  const broker = new Broker({ config, log, db });
  await broker.start();
  const first = broker.listening()[0]!;
  return {
    broker,
    port: first.port,
    url: `mqtt://127.0.0.1:${first.port}`,
    stop: () => broker.stop(),
  };
}

/**
 * The set-up most broker test files share: one broker started before all tests (with `raw`, or
 * what `raw()` resolves to), the MQTT.js clients and raw sockets the tests opened closed after
 * each (unless `keepClients`: the file keeps clients across tests and closes them itself), the
 * broker stopped after all. The handle reads the running broker.
 */
export function useBroker(
  raw: Record<string, unknown> | (() => Promise<Record<string, unknown>>) = {},
  options: { keepClients?: boolean; log?: Logger } = {},
): TestBroker {
  let running: TestBroker | undefined;
  const current = (): TestBroker => {
    if (!running) throw new Error('the broker is started in beforeAll: use it inside a test or hook');
    return running;
  };
  beforeAll(async () => {
    running = await startBroker(typeof raw === 'function' ? await raw() : raw, undefined, options.log);
  });
  if (!options.keepClients) {
    afterEach(async () => {
      closeRawSockets();
      await closeClients();
    });
  }
  afterAll(async () => {
    if (options.keepClients) {
      closeRawSockets();
      await closeClients();
    }
    await running?.stop();
  });
  return {
    get broker() {
      return current().broker;
    },
    get port() {
      return current().port;
    },
    get url() {
      return current().url;
    },
    stop: () => current().stop(),
  };
}

/**
 * For files that start brokers inside their tests: the returned `start` is `startBroker`, and
 * after each test its clients and raw sockets are closed, then every broker it started is stopped
 * and every `cleanup` registered (newest first) runs.
 */
export function brokersPerTest(): {
  start: typeof startBroker;
  cleanup(fn: () => Promise<void>): void;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    closeRawSockets();
    await closeClients();
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    start: async (...args) => {
      const b = await startBroker(...args);
      cleanups.push(b.stop);
      return b;
    },
    cleanup: (fn) => cleanups.push(fn),
  };
}

/** A temp directory with a SQLite database in it; `cleanup` closes and removes both. */
export async function tempDatabase(): Promise<{
  dir: string;
  file: string;
  db: Database;
  cleanup(): Promise<void>;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-broker-'));
  const file = path.join(dir, 'gateway.db');
  const db = await Database.open(file);
  let closed = false;
  return {
    dir,
    file,
    db,
    cleanup: async () => {
      if (!closed) await db.close().catch(() => undefined);
      closed = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const clients = new Set<MqttClient>();

/** An MQTT.js client, connected (rejects on a refused CONNECT). No automatic reconnect. */
export function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    clients.add(client);
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/**
 * An MQTT.js client that collects messages from the first one on (a resumed session may deliver
 * right behind CONNACK), with the CONNACK it got.
 */
export function connectCollecting(
  url: string,
  options: IClientOptions = {},
): Promise<{ client: MqttClient; got: Received[]; connack: IConnackPacket }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 10_000, ...options });
    clients.add(client);
    const got = collect(client);
    client.once('connect', (connack) => resolve({ client, got, connack }));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** Ends every MQTT.js client the tests opened. */
export async function closeClients(): Promise<void> {
  const all = [...clients];
  clients.clear();
  await Promise.all(all.map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))));
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  properties?: Record<string, unknown>;
}

/** Collects the messages a client receives. */
export function collect(client: MqttClient): Received[] {
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({
      topic,
      payload: payload.toString(),
      retain: packet.retain,
      qos: packet.qos,
      properties: packet.properties as Record<string, unknown> | undefined,
    });
  });
  return got;
}

export function subscribe(
  client: MqttClient,
  filter: string | string[],
  options: mqtt.IClientSubscribeOptions = { qos: 1 },
) {
  return client.subscribeAsync(filter, options);
}

export async function waitForCount<T>(
  list: T[],
  n: number,
  what = `${n} messages`,
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(() => list.length >= n, timeoutMs, what);
}

let markers = 0;

/**
 * Makes a "nothing (more) arrived" check certain without a guess at a delay: `publisher` publishes
 * a marker that `subscriber` receives, and this waits for it. The broker handles one connection's
 * packets in order and delivers to one session in order, so whatever `publisher` sent before
 * (and would reach `subscriber`) has arrived by then. `publisher` may be the broker itself (its
 * in-process publishes are routed at once). The marker is taken out of `got` again.
 */
export async function deliveredSoFar(
  publisher: MqttClient | Broker,
  subscriber: MqttClient,
  got: Received[],
  timeoutMs = 10_000,
): Promise<void> {
  const topic = `test-marker/${process.pid}/${++markers}`;
  await subscriber.subscribeAsync(topic, { qos: 1 });
  if (publisher instanceof Broker)
    publisher.publish({ topic, payload: Buffer.from('marker'), qos: 1, retain: false });
  else await publisher.publishAsync(topic, 'marker', { qos: 1 });
  await waitFor(() => got.some((m) => m.topic === topic), timeoutMs, `the marker on ${topic}`);
  for (let i = got.length - 1; i >= 0; i--) if (got[i]!.topic === topic) got.splice(i, 1);
  await subscriber.unsubscribeAsync(topic);
}

export interface RawClient {
  socket: net.Socket;
  received: Buffer[];
  /** Resolves when the broker (or the test) closed the socket. */
  ended: Promise<void>;
  write(bytes: Buffer): void;
  all(): Buffer;
}

const rawSockets = new Set<net.Socket>();

/**
 * A raw TCP socket, for packets no well-behaved client library would send. `localAddress` (another
 * loopback address, 127.0.0.2...) makes it a client from elsewhere.
 */
export function rawSocket(port: number, localAddress?: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      port,
      host: '127.0.0.1',
      ...(localAddress !== undefined && { localAddress }),
    });
    rawSockets.add(socket);
    const received: Buffer[] = [];
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d: Buffer) => received.push(d));
    socket.once('connect', () => {
      socket.on('error', () => undefined);
      resolve({ socket, received, ended, write: (b) => socket.write(b), all: () => Buffer.concat(received) });
    });
    socket.once('error', reject);
  });
}

/** Destroys every raw socket the tests opened. */
export function closeRawSockets(): void {
  for (const s of rawSockets) s.destroy();
  rawSockets.clear();
}

/**
 * A PINGREQ answered: the broker writes to one connection in order, so whatever it had sent this
 * raw client before reading the PINGREQ is in `received` now. For "nothing more was sent" checks.
 */
export async function pingRoundTrip(s: RawClient, version: 3 | 4 | 5 = 4, timeoutMs = 10_000): Promise<void> {
  const pongs = () => parsePackets(s.all(), version).filter((p) => p.cmd === 'pingresp').length;
  const before = pongs();
  s.write(packet({ cmd: 'pingreq' }, version));
  await waitFor(() => pongs() > before, timeoutMs, 'PINGRESP');
}

/** Every complete packet in `bytes` (what a raw client received), decoded by mqtt-packet. */
export function parsePackets(bytes: Buffer, protocolVersion: 3 | 4 | 5 = 4): mqttPacket.Packet[] {
  const parser = mqttPacket.parser({ protocolVersion });
  const packets: mqttPacket.Packet[] = [];
  parser.on('packet', (p: mqttPacket.Packet) => packets.push(p));
  parser.parse(bytes);
  return packets;
}

export const packet = (p: mqttPacket.Packet, protocolVersion: 3 | 4 | 5 = 4): Buffer =>
  mqttPacket.generate(p, { protocolVersion });

export function connectPacket(
  clientId: string,
  options: Partial<mqttPacket.IConnectPacket> & { protocolVersion?: 3 | 4 | 5 } = {},
): Buffer {
  const protocolVersion = options.protocolVersion ?? 4;
  return packet(
    {
      cmd: 'connect',
      clientId,
      keepalive: 60,
      clean: true,
      protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      ...options,
      protocolVersion,
    },
    protocolVersion,
  );
}

/** An internal QoS 0 message as the router hands it to its subscribers. */
export function routedMessage(topic: string, payload: Buffer = Buffer.from('v')): RoutedMessage {
  return {
    topic,
    payload,
    qos: 0,
    retain: false,
    properties: undefined,
    origin: { kind: 'internal', component: 'test' },
    expiresAt: 0,
    publisher: null,
  };
}
