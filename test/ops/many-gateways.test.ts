// Many gateways, one plant broker (docs/DEPLOY.md): five gateways, each with its own simulator,
// data folder and bridge prefix, bridged into one Mosquitto. A consumer there sees every site's
// values and status; a remote command reaches only its gateway; a gateway killed with SIGKILL shows
// `offline` and, started again, delivers every message it had acknowledged.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import sqlite3 from 'sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { OUTBOX_FILE } from '../../src/bridge/manager.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { demoConfig, repoRoot, type DemoConfig } from '../helpers/demo-config.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { tcpRelay, type TcpRelay } from '../helpers/relay.js';
import { cliSource, envWith, nodeArgs } from './cli.js';

const SITES = ['cell1', 'cell2', 'cell3', 'cell4', 'cell5'] as const;
const TAG = 'acme/plant1/line1/press1';

let plant: MosquittoBroker;
let consumer: MqttClient;
const inProcess: Gateway[] = [];
let child: ChildProcess | undefined;
/** One site's WAN link to the plant broker, which the test cuts and restores. */
let proxy: TcpRelay;
/** Latest payload per upstream topic, and every payload of the sequence topic. */
const latest = new Map<string, string>();
const sequence = new Set<string>();

/** A gateway's config: the demo's Modbus press, bridged upstream under sites/<id>/. */
function siteConfig(id: string, plantPort: number): Promise<DemoConfig> {
  return demoConfig((config) => {
    (config.gateway as Record<string, unknown>).id = id;
    config.devices = config.devices.filter((d) => d.driver === 'modbus');
    config.simulators.opcua = [];
    config.mappings = [path.join(repoRoot, 'mappings/press1.json')];
    config.bridges = [
      {
        name: 'plant',
        url: `mqtt://127.0.0.1:${plantPort}`,
        clientId: `tagwire-${id}`,
        reconnect: { minDelayMs: 100, maxDelayMs: 500 },
        out: [{ filter: 'acme/#', prefix: `sites/${id}/` }],
        // Commands for this gateway only: its own prefix, and only `.../set` topics.
        in: [{ filter: `sites/${id}/acme/+/+/+/+/set`, stripPrefix: `sites/${id}/` }],
      },
    ];
  });
}

/** Rows on `topic` in an outbox database, read-only beside the gateway writing it. */
async function outboxRows(file: string, topic: string): Promise<number> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) =>
      err ? reject(err) : resolve(opened),
    );
  });
  // The gateway may hold a write lock or checkpoint just then: wait for it rather than fail.
  db.configure('busyTimeout', 5000);
  try {
    return await new Promise<number>((resolve, reject) =>
      db.get<{ n: number }>(
        'SELECT count(*) AS n FROM outbox_messages WHERE topic = ?',
        [topic],
        (err, row) => (err ? reject(err) : resolve(row?.n ?? 0)),
      ),
    );
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
}

/**
 * Resolves once the gateway of `config` is ready (/readyz 200): its local broker listens. Its
 * `online` upstream says less: the bridge connects before the local listeners open.
 */
async function ready(config: DemoConfig): Promise<void> {
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${config.httpPort}/readyz`).then(
        (res) => {
          void res.body?.cancel();
          return res.ok;
        },
        () => false,
      ),
    60_000,
    `the gateway of ${config.file} ready`,
  );
}

function startChild(file: string): ChildProcess {
  const started = spawn(process.execPath, [...nodeArgs, cliSource, 'start', '-c', file], {
    env: envWith(),
    stdio: 'ignore',
  });
  return started;
}

afterAll(async () => {
  child?.kill('SIGKILL');
  await consumer?.endAsync();
  await Promise.all(inProcess.map((g) => g.stop()));
  proxy?.close();
  await plant?.stop();
});

describe('five gateways bridged into one plant broker', () => {
  it('shows every site, routes commands to one, and survives a SIGKILL without loss', async () => {
    plant = await startMosquitto();
    consumer = await mqtt.connectAsync(`mqtt://127.0.0.1:${plant.port}`);
    consumer.on('message', (topic, payload) => {
      latest.set(topic, payload.toString());
      if (topic === 'sites/cell5/acme/test/seq') sequence.add(payload.toString());
    });
    await consumer.subscribeAsync(['sites/+/acme/#', 'tagwire/+/status']);

    // cell5 reaches the plant through a link the test can cut.
    proxy = await tcpRelay(plant.port);
    const configs: DemoConfig[] = [];
    for (const id of SITES) configs.push(await siteConfig(id, id === 'cell5' ? proxy.port : plant.port));
    // Four in this process, the fifth its own process (so it can be killed for real).
    await Promise.all(
      configs.slice(0, 4).map(async (c) => {
        const gateway = new Gateway(await loadConfig(c.file), { log: silentLogger() });
        inProcess.push(gateway);
        await gateway.start();
      }),
    );
    const fifth = configs[4]!;
    child = startChild(fifth.file);

    await waitFor(
      () =>
        SITES.every(
          (id) =>
            latest.get(`tagwire/${id}/status`) === 'online' && latest.has(`sites/${id}/${TAG}/temperature`),
        ),
      60_000,
      'values and online status of all five sites',
    );

    // A remote command for cell2 only: its result comes back from cell2, and no other press changes.
    consumer.publish(
      `sites/cell2/${TAG}/setpoint/set`,
      JSON.stringify({ value: 123, requestId: 'r-cell2' }),
      { qos: 1 },
    );
    await waitFor(
      () => latest.get(`sites/cell2/${TAG}/setpoint/set/result`),
      20_000,
      'the result from cell2',
    );
    expect(JSON.parse(latest.get(`sites/cell2/${TAG}/setpoint/set/result`)!)).toMatchObject({
      ok: true,
      requestId: 'r-cell2',
    });
    await waitFor(
      () => JSON.parse(latest.get(`sites/cell2/${TAG}/setpoint`) ?? '{}').value === 123,
      20_000,
      'the new setpoint',
    );
    for (const id of SITES.filter((s) => s !== 'cell2')) {
      expect(latest.has(`sites/${id}/${TAG}/setpoint/set/result`)).toBe(false);
      expect(JSON.parse(latest.get(`sites/${id}/${TAG}/setpoint`) ?? '{}').value).not.toBe(123);
    }

    // cell5 killed: the plant sees it offline (its will), the other sites go on.
    child.kill('SIGKILL');
    await waitFor(() => latest.get('tagwire/cell5/status') === 'offline', 20_000, 'cell5 offline');
    latest.delete(`sites/cell1/${TAG}/cycles`);
    await waitFor(() => latest.has(`sites/cell1/${TAG}/cycles`), 20_000, 'cell1 still publishing');
    child = startChild(fifth.file);
    await waitFor(() => latest.get('tagwire/cell5/status') === 'online', 60_000, 'cell5 online again');
    await ready(fifth);

    // Killed during a WAN outage, it loses nothing it had taken: the backlog in its outbox drains
    // once it runs again and the link is back.
    proxy.cut();
    await waitFor(() => latest.get('tagwire/cell5/status') === 'offline', 20_000, 'cell5 cut off');
    const local = await mqtt.connectAsync(`mqtt://127.0.0.1:${fifth.mqttPort}`, { reconnectPeriod: 0 });
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => local.publishAsync('acme/test/seq', String(i), { qos: 1 })),
    );
    await local.endAsync();
    // All 200 in the outbox on disk (read beside the running gateway) before the kill.
    const outbox = path.join(fifth.dir, 'data', OUTBOX_FILE);
    await waitFor(
      async () => (await outboxRows(outbox, 'sites/cell5/acme/test/seq')) === 200,
      20_000,
      '200 rows in the outbox',
    );
    child.kill('SIGKILL');
    expect(sequence.size).toBe(0);
    await proxy.restore();
    child = startChild(fifth.file);
    await waitFor(() => latest.get('tagwire/cell5/status') === 'online', 60_000, 'cell5 back');
    await waitFor(() => sequence.size === 200, 30_000, `all 200 messages (have ${sequence.size})`);
  }, 180_000);
});
