// The real parts under test, wired as the gateway wires them: our Modbus simulator, the Modbus
// driver, the embedded broker on a loopback port, the publisher, the command router and the audit
// log in SQLite. Config goes through loadConfig like a user's would.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createDriver } from '../../drivers/index.js';
import { startModbusSimulator, type RunningModbusSimulator } from '../../drivers/modbus/simulator/index.js';
import type { Driver } from '../../drivers/types.js';
import { Broker } from '../../src/broker/broker.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { CommandRouter } from '../../src/mapping/commands.js';
import { TagPublisher } from '../../src/mapping/publisher.js';
import { AuditLog } from '../../src/mapping/audit.js';
import { Database } from '../../src/store/db.js';
import { freePort, waitFor } from '../helpers/net.js';
import { workspace, type Workspace } from '../config/fixtures.js';

export interface Stack {
  ws: Workspace;
  loaded: LoadedConfig;
  mqttPort: number;
  sims: RunningModbusSimulator[];
  broker: Broker;
  publisher: TagPublisher;
  router: CommandRouter;
  audit: AuditLog;
  drivers: Map<string, Driver>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Extra devices; each `{ sim: n }` device gets the port of simulator n. */
  devices?: Array<Record<string, unknown>>;
  simulators?: Array<Record<string, unknown>>;
  mappings: Record<string, unknown>;
  /** Keys merged into the broker block (users, acl...). */
  broker?: Record<string, unknown>;
  /** The data directory (default `data` in the workspace), e.g. on a small tmpfs. */
  dataDir?: string;
}

/** A Modbus device on simulator `sim` (by index), with short timeouts for tests. */
export function simDevice(
  id: string,
  sim: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    driver: 'modbus',
    transport: { type: 'tcp', host: '127.0.0.1', port: `$sim${sim}` },
    unitId: 1,
    timeoutMs: 500,
    reconnectMinMs: 100,
    reconnectMaxMs: 500,
    ...extra,
  };
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const ws = workspace();
  const mqttPort = await freePort();
  const simulators = opts.simulators ?? [{ port: 0 }];
  const simPorts = await Promise.all(simulators.map(() => freePort()));
  const devices = (opts.devices ?? [simDevice('press1', 0)]).map((d) =>
    JSON.parse(JSON.stringify(d).replace(/"\$sim(\d+)"/g, (_m, i: string) => String(simPorts[Number(i)]))),
  );
  ws.write('gateway.config.json', {
    gateway: { id: 'edge-test', dataDir: opts.dataDir ?? './data', logLevel: 'silent' },
    broker: {
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: mqttPort }],
      sys: { intervalSec: 0 },
      ...opts.broker,
    },
    devices,
    mappings: ['mappings/*.json'],
    simulators: { modbus: simulators.map((s, i) => ({ ...s, port: simPorts[i] })) },
  });
  for (const [name, content] of Object.entries(opts.mappings)) ws.write(`mappings/${name}`, content);
  const loaded = await loadConfig(ws.file('gateway.config.json'));
  const log = silentLogger();
  const sims: RunningModbusSimulator[] = [];
  for (const sim of loaded.config.simulators.modbus) sims.push(await startModbusSimulator(sim, log));
  mkdirSync(loaded.config.gateway.dataDir, { recursive: true });
  const dbFile = path.join(loaded.config.gateway.dataDir, 'tagwire.db');
  const db = await Database.open(dbFile);
  const broker = new Broker({ config: loaded.config.broker, db, log });
  await broker.start();
  const audit = await AuditLog.open(db, {
    retentionDays: loaded.config.gateway.auditRetentionDays,
    file: dbFile,
  });
  const publisher = new TagPublisher({ gatewayId: 'edge-test', mappings: loaded.mappings, broker, log });
  const drivers = new Map<string, Driver>();
  for (const device of loaded.config.devices) {
    const tags = loaded.mappings.filter((m) => m.device === device.id).flatMap((m) => m.tags);
    const driver = createDriver(device, tags, {
      onSamples: (batch) => publisher.onSamples(device.id, batch),
      onStatus: () => undefined,
      log,
      dataDir: loaded.config.gateway.dataDir,
    });
    drivers.set(device.id, driver);
  }
  const router = new CommandRouter({
    mappings: loaded.mappings,
    broker,
    drivers,
    audit,
    log,
    publishSamples: (deviceId, samples) => publisher.publishNow(deviceId, samples),
  });
  router.start();
  await Promise.all([...drivers.values()].map((d) => d.start()));
  return {
    ws,
    loaded,
    mqttPort,
    sims,
    broker,
    publisher,
    router,
    audit,
    drivers,
    async stop() {
      await Promise.all([...drivers.values()].map((d) => d.stop()));
      await router.stop();
      publisher.stop();
      await broker.stop();
      await Promise.all(sims.map((s) => s.close()));
      await audit.close();
      await db.close();
      ws.remove();
    },
  };
}

/** An MQTT.js client that records every message it receives. */
export interface Client {
  mqtt: MqttClient;
  messages: Array<{ topic: string; payload: string; retain: boolean; properties?: Record<string, unknown> }>;
  /** The next message on `topic` after `from` (an index into messages), waiting up to 10 s. */
  next(
    topic: string,
    from?: number,
    match?: (payload: string) => boolean,
  ): Promise<{ topic: string; payload: string; properties?: Record<string, unknown> }>;
  json(topic: string, from?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function connect(port: number, options: IClientOptions = {}): Promise<Client> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...options,
  });
  const messages: Client['messages'] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      retain: packet.retain,
      properties: packet.properties as Record<string, unknown> | undefined,
    });
  });
  const next: Client['next'] = (topic, from = 0, match = () => true) =>
    waitFor(
      () => messages.slice(from).find((m) => m.topic === topic && match(m.payload)),
      10_000,
      `a message on ${topic}`,
    );
  return {
    mqtt: client,
    messages,
    next,
    json: async (topic, from) => JSON.parse((await next(topic, from)).payload) as Record<string, unknown>,
    close: () => client.endAsync(),
  };
}
