// Shared setup for broker tests: a broker on a free loopback port, MQTT.js clients, raw sockets.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type IConnackPacket } from 'mqtt-packet';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
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
