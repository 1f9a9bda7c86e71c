// A gateway acknowledges no client publish that its bridge did not store, also while the bridges
// stop (waiting for the upstream's acknowledgements, committing the outbox), at a gateway stop or
// a config reload that restarts them: those publishes are refused or cut off, never acknowledged.
import net from 'node:net';
import path from 'node:path';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { OUTBOX_FILE } from '../../src/bridge/manager.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { Database } from '../../src/store/db.js';
import { demoConfig, repoRoot, type DemoConfig } from '../helpers/demo-config.js';
import { freePort, waitFor } from '../helpers/net.js';

/**
 * An upstream broker that accepts the connection and takes every PUBLISH without acknowledging
 * it: the bridge's stop waits for acknowledgements that never come.
 */
async function silentUpstream() {
  const port = await freePort();
  let published = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let parser = mqttPacket.parser();
    const onPacket = (packet: mqttPacket.Packet) => {
      if (packet.cmd === 'connect') {
        const protocolVersion = packet.protocolVersion ?? 4;
        socket.write(
          mqttPacket.generate(
            { cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false },
            {
              protocolVersion,
            },
          ),
        );
        parser = mqttPacket.parser({ protocolVersion });
        parser.on('packet', onPacket);
      } else if (packet.cmd === 'publish') published++;
    };
    parser.on('packet', onPacket);
    socket.on('data', (bytes: Buffer) => parser.parse(bytes));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    published: () => published,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

/** The demo's press, bridged to a silent upstream that has taken values it never acknowledges. */
async function gatewayBridgedToSilence() {
  const upstream = await silentUpstream();
  cleanup.push(upstream.close);
  const bridge = (statusIntervalSec: number) => ({
    name: 'plant',
    url: `mqtt://127.0.0.1:${upstream.port}`,
    out: [{ filter: 'acme/#' }],
    statusIntervalSec,
  });
  const demo = await demoConfig((config) => {
    config.devices = config.devices.filter((d) => d.driver === 'modbus');
    config.simulators.opcua = [];
    config.mappings = [path.join(repoRoot, 'mappings/press1.json')];
    config.bridges = [bridge(30)];
  });
  const gateway = new Gateway(await loadConfig(demo.file), { log: silentLogger() });
  cleanup.push(() => gateway.stop());
  await gateway.start();
  // Tag values in flight upstream, never acknowledged: a bridge's stop waits for them.
  await waitFor(() => upstream.published() > 0, 30_000, 'values sent upstream');
  /** The same config with the bridge changed (a reload restarts it). */
  const changed = async () => {
    const file = path.join(demo.dir, 'changed.json');
    const json = JSON.parse(readFileSync(demo.file, 'utf8')) as { bridges: unknown[] };
    json.bridges = [bridge(60)];
    writeFileSync(file, JSON.stringify(json));
    return loadConfig(file);
  };
  return { demo, gateway, changed };
}

/** A client publishing QoS 1 one after another until it is cut off; what was acknowledged. */
async function publisher(demo: DemoConfig) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`, { reconnectPeriod: 0 });
  client.on('error', () => undefined);
  const acked: string[] = [];
  const publishing = (async () => {
    for (let n = 0; client.connected; n++) {
      try {
        await client.publishAsync('acme/test/acks', String(n), { qos: 1 });
        acked.push(String(n));
      } catch {
        return; // cut off: not acknowledged, the client would send it again
      }
    }
  })();
  await waitFor(() => acked.length >= 20, 20_000, 'acknowledged publishes');
  return {
    acked,
    /** Ends the client: a publish the gateway never answered stays pending until then. */
    async end() {
      await client.endAsync(true);
      await publishing;
    },
  };
}

/** The payloads on acme/test/acks in the outbox of a stopped gateway. */
async function storedPayloads(demo: DemoConfig): Promise<Set<string>> {
  const db = await Database.open(path.join(demo.dir, 'data', OUTBOX_FILE));
  try {
    const rows = await db.all<{ payload: Buffer }>('SELECT payload FROM outbox_messages WHERE topic = ?', [
      'acme/test/acks',
    ]);
    return new Set(rows.map((r) => r.payload.toString()));
  } finally {
    await db.close();
  }
}

describe('acknowledged means stored by the bridge', () => {
  it('while the gateway stops', async () => {
    const { demo, gateway } = await gatewayBridgedToSilence();
    const client = await publisher(demo);
    await gateway.stop();
    await client.end();
    const stored = await storedPayloads(demo);
    expect(client.acked.filter((p) => !stored.has(p))).toEqual([]);
  }, 90_000);

  it('while a config reload restarts the bridges, and taken again after it', async () => {
    const { demo, gateway, changed } = await gatewayBridgedToSilence();
    const client = await publisher(demo);
    const diff = await gateway.reload(await changed());
    expect(diff.restart.bridges).toBe(true);
    await client.end();
    // After the reload a publish is acknowledged and stored again.
    const after = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`, { reconnectPeriod: 0 });
    await after.publishAsync('acme/test/acks', 'after', { qos: 1 });
    await after.endAsync();
    await gateway.stop();
    const stored = await storedPayloads(demo);
    expect(client.acked.filter((p) => !stored.has(p))).toEqual([]);
    expect(stored.has('after')).toBe(true);
  }, 90_000);
});
