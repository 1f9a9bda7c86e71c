// The real gateway under test, built by its own composition (src/gateway.ts) from a config written
// the way a user would, beside our Modbus simulators started here so tests can reach their memory
// and faults. The embedded broker listens on a port the kernel picks.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { startModbusSimulator, type RunningModbusSimulator } from '../../drivers/modbus/simulator/index.js';
import type { DeviceStatus } from '../../drivers/types.js';
import type { Broker } from '../../src/broker/broker.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { freePort, waitFor } from '../helpers/net.js';
import { workspace, type Workspace } from '../config/fixtures.js';

export interface Stack {
  ws: Workspace;
  gateway: Gateway;
  /** The config running now (after any reload). */
  readonly loaded: LoadedConfig;
  mqttPort: number;
  sims: RunningModbusSimulator[];
  readonly broker: Broker;
  readonly audit: Gateway['auditLog'];
  /** What the gateway reports of device `id` now (throws for an unknown device). */
  device(id: string): DeviceStatus;
  /**
   * Resolves once `client` has received everything the broker had sent it before the call: a
   * marker published inside the gateway on `topic` (one the client subscribes to) comes after it,
   * as one connection delivers in order. The sound way to say "nothing else arrived".
   */
  flush(client: Client, topic: string): Promise<void>;
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
  const simulators = opts.simulators ?? [{ port: 0 }];
  const simPorts = await Promise.all(simulators.map(() => freePort()));
  const devices = (opts.devices ?? [simDevice('press1', 0)]).map((d) =>
    JSON.parse(JSON.stringify(d).replace(/"\$sim(\d+)"/g, (_m, i: string) => String(simPorts[Number(i)]))),
  );
  ws.write('gateway.config.json', {
    gateway: { id: 'edge-test', dataDir: opts.dataDir ?? './data', logLevel: 'silent' },
    broker: {
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0 }],
      sys: { intervalSec: 0 },
      ...opts.broker,
    },
    http: { enabled: false },
    devices,
    mappings: ['mappings/*.json'],
    simulators: { modbus: simulators.map((s, i) => ({ ...s, port: simPorts[i] })) },
  });
  for (const [name, content] of Object.entries(opts.mappings)) ws.write(`mappings/${name}`, content);
  const loaded = await loadConfig(ws.file('gateway.config.json'));
  const log = silentLogger();
  const sims: RunningModbusSimulator[] = [];
  const gateway = new Gateway(loaded, { log, simulators: false });
  const stopAll = async (): Promise<void> => {
    await gateway.stop();
    await Promise.all(sims.map((s) => s.close()));
    ws.remove();
  };
  try {
    // The simulators run here rather than in the gateway: tests reach into their memory and faults.
    for (const sim of loaded.config.simulators.modbus) sims.push(await startModbusSimulator(sim, log));
    await gateway.start();
  } catch (err) {
    await stopAll();
    throw err;
  }
  const mqttPort = gateway.broker.listening()[0]!.port;
  return {
    ws,
    gateway,
    get loaded() {
      return gateway.loaded;
    },
    mqttPort,
    sims,
    broker: gateway.broker,
    audit: gateway.auditLog,
    device(id) {
      const status = gateway.devices().find((d) => d.deviceId === id);
      if (!status) throw new Error(`no device ${id} in the gateway`);
      return status;
    },
    async flush(client, topic) {
      const marker = `flush-${++flushes}`;
      const from = client.messages.length;
      gateway.broker.publish({ topic, payload: Buffer.from(marker), qos: 1, retain: false });
      await client.next(topic, from, (payload) => payload === marker);
    },
    stop: stopAll,
  };
}

let flushes = 0;

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

/** An MQTT 5 client logged in as `user` (password `<user>-pw`, client id `<user>-1`), as the tests' users are made. */
export function loginAs(port: number, user: string): Promise<Client> {
  return connect(port, { protocolVersion: 5, clientId: `${user}-1`, username: user, password: `${user}-pw` });
}
