// A gateway's core for bridge tests: the real Broker (no listeners unless asked) on a SQLite data
// dir, and a BridgeManager over it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { parseBridgeConfig } from '../../../src/bridge/config.js';
import { BridgeManager } from '../../../src/bridge/manager.js';
import { Broker } from '../../../src/broker/broker.js';
import { parseBrokerConfig } from '../../../src/broker/config.js';
import { silentLogger } from '../../../src/log.js';
import { Database } from '../../../src/store/db.js';
import { waitFor } from '../../helpers/net.js';

export interface LocalGateway {
  broker: Broker;
  db: Database;
  manager: BridgeManager;
  dataDir: string;
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export async function startLocal(
  bridges: unknown[],
  options: { dataDir?: string; broker?: Record<string, unknown>; gatewayId?: string } = {},
): Promise<LocalGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'tagwire-bridge-'));
  const log = silentLogger();
  const db = await Database.open(path.join(dataDir, 'tagwire.db'));
  const broker = new Broker({ config: parseBrokerConfig({ listeners: [], ...options.broker }), db, log });
  await broker.start();
  const manager = new BridgeManager({
    bridges: bridges.map((b, i) => parseBridgeConfig(b, `bridges/${i}`)),
    gatewayId: options.gatewayId ?? 'edge-test',
    broker,
    log,
    dataDir,
  });
  await manager.start();
  return {
    broker,
    db,
    manager,
    dataDir,
    async stop({ keepData = false } = {}) {
      await manager.stop();
      await broker.stop();
      await db.close();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An MQTT.js client on the upstream, collecting what arrives. */
export interface Collector {
  client: MqttClient;
  messages: { topic: string; payload: string; retain: boolean; qos: number }[];
  close(): Promise<void>;
}

export async function collect(
  port: number,
  filters: string[],
  options: { clientId?: string; clean?: boolean; protocolVersion?: 4 | 5 } = {},
): Promise<Collector> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId: options.clientId ?? `collector-${Math.random().toString(16).slice(2)}`,
    clean: options.clean ?? true,
    protocolVersion: options.protocolVersion ?? 4,
    reconnectPeriod: 200,
  });
  const messages: Collector['messages'] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }),
  );
  await waitFor(() => client.connected, 10_000, 'the collector to connect');
  await client.subscribeAsync(
    filters.map((f) => f),
    { qos: 1 },
  );
  return { client, messages, close: () => client.endAsync(true) };
}

/**
 * Waits until a bridge's `in` subscription is in place upstream (no status says when its SUBACK
 * came): publishes probes on `remoteTopic` upstream until one reaches the local broker as
 * `localTopic`. Probes count as received by the bridge: the returned function says how many
 * arrived so far, for tests that check the bridge's counters.
 */
export async function waitForInRule(
  upstreamPort: number,
  broker: Pick<Broker, 'subscribe'>,
  remoteTopic: string,
  localTopic: string,
  timeoutMs = 10_000,
): Promise<() => number> {
  let arrived = 0;
  broker.subscribe(localTopic, () => arrived++);
  const prober = mqtt.connect(`mqtt://127.0.0.1:${upstreamPort}`, { reconnectPeriod: 0 });
  try {
    await waitFor(() => prober.connected, timeoutMs, 'the probing client to connect');
    const deadline = Date.now() + timeoutMs;
    while (arrived === 0) {
      if (Date.now() > deadline) throw new Error(`no probe on ${remoteTopic} came in within ${timeoutMs} ms`);
      await prober.publishAsync(remoteTopic, 'probe', { qos: 1 });
      await waitFor(() => arrived > 0, 200, 'a probe').catch(() => undefined);
    }
  } finally {
    await prober.endAsync(true);
  }
  return () => arrived;
}
