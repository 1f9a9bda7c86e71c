// Start order: the broker's network listeners open last, once the command router and the bridges
// are subscribed. A client that connects the moment the port opens (here after a restart with a
// data directory full of retained messages) has its command answered and its bridged message
// sent upstream: nothing it publishes finds a consumer missing.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { loadConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/log.js';
import { Database } from '../../src/store/db.js';
import { demoConfig } from '../helpers/demo-config.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { sleep, waitFor } from '../helpers/net.js';

const PRESS = 'acme/plant1/line1/press1';
const RETAINED = 20_000;

/** Connects the moment something accepts MQTT on the port (tries every few ms). */
async function connectWhenOpen(port: number, deadline: number): Promise<MqttClient> {
  for (;;) {
    try {
      return await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: 2000,
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

describe('start order', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('a client publishing as soon as the port opens loses no command and no bridged message', async () => {
    const upstream = await startMosquitto({ extraConfig: 'max_queued_messages 0' });
    cleanup.push(() => upstream.stop());
    const upstreamSeen: string[] = [];
    const collector = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, { reconnectPeriod: 0 });
    cleanup.push(() => collector.endAsync(true));
    collector.on('message', (topic) => upstreamSeen.push(topic));
    await collector.subscribeAsync('site/#', { qos: 1 });

    const demo = await demoConfig((config) => {
      config.bridges = [
        {
          name: 'plant',
          url: `mqtt://127.0.0.1:${upstream.port}`,
          out: [{ filter: 'probe/#', prefix: 'site/' }],
          statusIntervalSec: 0,
        },
      ];
    });
    const loaded = await loadConfig(demo.file);

    // The restart is retained-heavy: a first run left many retained messages in the data directory.
    const dataDir = loaded.config.gateway.dataDir;
    mkdirSync(dataDir, { recursive: true });
    const db = await Database.open(path.join(dataDir, 'tagwire.db'));
    const first = new Broker({ config: parseBrokerConfig({ listeners: [] }), db, log: silentLogger() });
    await first.start();
    first.publishBatch(
      Array.from({ length: RETAINED }, (_, i) => ({
        topic: `history/${i % 100}/${i}`,
        payload: Buffer.from(`{"value":${i}}`),
        qos: 1 as const,
        retain: true,
      })),
    );
    await first.stop();
    await db.close();

    const gateway = new Gateway(loaded, { log: silentLogger() });
    cleanup.push(() => gateway.stop());
    const starting = gateway.start();
    const client = await connectWhenOpen(demo.mqttPort, Date.now() + 60_000);
    cleanup.push(() => client.endAsync(true));
    const results: Record<string, unknown>[] = [];
    client.on('message', (_topic, payload) => results.push(JSON.parse(payload.toString())));
    await client.subscribeAsync(`${PRESS}/setpoint/set/result`, { qos: 1 });
    await client.publishAsync(`${PRESS}/setpoint/set`, JSON.stringify({ value: 42, requestId: 'early-1' }), {
      qos: 1,
    });
    await client.publishAsync('probe/early', 'first words', { qos: 1 });
    await starting;

    const result = await waitFor(
      () => results.find((r) => r.requestId === 'early-1'),
      30_000,
      'the result of the command sent the moment the port opened',
    );
    expect(result).toHaveProperty('ok');
    await waitFor(
      () => upstreamSeen.includes('site/probe/early'),
      15_000,
      'the bridged message sent the moment the port opened',
    );
    expect(gateway.broker.stats().retained).toBeGreaterThanOrEqual(RETAINED);
  }, 120_000);
});
