// The forwarder's publishes written without MQTT.js's publish path (src/bridge/lean-publisher.ts),
// against a real Mosquitto in MQTT 3.1.1 and 5: QoS 0/1/2, retain, MQTT 5 properties, packet ids
// that wrap while MQTT.js publishes on the same connection, and an upstream that refuses.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { LeanPublisher, LEAN_MAX_ID, mqttJsIdProvider } from '../../src/bridge/lean-publisher.js';
import type { StoredMessage } from '../../src/bridge/outbox/outbox.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { collect, startLocal, type Collector, type LocalGateway } from './helpers/local.js';

let upstream: MosquittoBroker | undefined;
let collector: Collector | undefined;
let gateway: LocalGateway | undefined;
const clients: mqtt.MqttClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await collector?.close();
  await gateway?.stop();
  await upstream?.stop();
  upstream = collector = gateway = undefined;
});

const stored = (
  seq: number,
  topic: string,
  qos: 0 | 1 | 2,
  extra: Partial<StoredMessage> = {},
): StoredMessage => ({
  seq,
  ts: Date.now(),
  bytes: 0,
  topic,
  payload: Buffer.from(`m${seq}`),
  qos,
  retain: false,
  ...extra,
});

describe.each([4, 5] as const)('lean upstream publisher, MQTT protocol %i', (version) => {
  it('sends QoS 0, 1 and 2 in order with wrapping packet ids while MQTT.js publishes on the same connection', async () => {
    upstream = await startMosquitto();
    collector = await collect(upstream.port, ['lean/#', 'own/#'], { protocolVersion: version });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, {
      protocolVersion: version,
      reconnectPeriod: 0,
      messageIdProvider: mqttJsIdProvider(),
    });
    clients.push(client);
    // Ten ids only: 300 messages, at most 8 awaiting an ack, go round the ids 30 times.
    const publisher = new LeanPublisher(client, version, 10);
    const acked: number[] = [];
    const errors: Error[] = [];
    let sent = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (sent < 300 && publisher.inflight < 8) {
          const seq = ++sent;
          const qos = (seq % 3) as 0 | 1 | 2;
          publisher.publish(stored(seq, `lean/q${qos}`, qos), (err) => {
            if (err) errors.push(err);
            acked.push(seq);
            if (acked.length === 300) resolve();
            else setImmediate(pump);
          });
          // MQTT.js's own QoS 1 publishes share the connection, with ids of their own.
          if (seq % 50 === 0) void client.publishAsync(`own/${seq}`, 'x', { qos: 1 });
        }
      };
      pump();
    });
    expect(errors).toEqual([]);
    await waitFor(() => collector!.messages.length >= 306, 10_000, 'every message upstream');
    for (const qos of [0, 1, 2]) {
      const got = collector.messages.filter((m) => m.topic === `lean/q${qos}`);
      expect(got.map((m) => m.payload)).toEqual(
        Array.from({ length: 100 }, (_, i) => `m${i * 3 + (qos === 0 ? 3 : qos)}`),
      );
      // The collector subscribed at QoS 1: QoS 2 arrives downgraded.
      expect(new Set(got.map((m) => m.qos))).toEqual(new Set([Math.min(qos, 1)]));
    }
    expect(collector.messages.filter((m) => m.topic.startsWith('own/'))).toHaveLength(6);
    expect(publisher.inflight).toBe(0);
  });
});

describe('lean upstream publisher, MQTT 5 specifics', () => {
  it('carries the properties, counts the expiry down, and keeps retain', async () => {
    upstream = await startMosquitto();
    const seen: mqtt.IPublishPacket[] = [];
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    clients.push(sub);
    sub.on('message', (_t, _p, packet) => seen.push(packet));
    await sub.subscribeAsync('props/#', { qos: 1, rap: true });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${upstream.port}`, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      messageIdProvider: mqttJsIdProvider(),
    });
    clients.push(client);
    const publisher = new LeanPublisher(client, 5);
    expect(publisher.capacity).toBe(LEAN_MAX_ID);
    const results: (Error | undefined)[] = [];
    const properties = {
      contentType: 'application/json',
      correlationData: Buffer.from('c1'),
      responseTopic: 'props/reply',
      userProperties: { site: 'a' },
      messageExpiryInterval: 100,
    };
    publisher.publish(stored(1, 'props/a', 1, { properties, ts: Date.now() - 30_000, retain: true }), (e) =>
      results.push(e),
    );
    publisher.publish(
      stored(2, 'props/b', 2, { properties: { messageExpiryInterval: 5 }, ts: Date.now() - 10_000 }),
      (e) => results.push(e),
    );
    publisher.publish(stored(3, 'props/c', 0, { properties: { contentType: 'text/plain' } }), (e) =>
      results.push(e),
    );
    await waitFor(() => results.length === 3 && seen.length === 2, 10_000, 'two messages and three results');
    expect(results.filter((e) => e === undefined)).toHaveLength(2);
    expect(results.find((e) => e !== undefined)?.message).toMatch(/props\/b expired/);
    const a = seen.find((p) => p.topic === 'props/a')!;
    expect(a.retain).toBe(true);
    expect(a.properties).toMatchObject({
      contentType: 'application/json',
      correlationData: Buffer.from('c1'),
      responseTopic: 'props/reply',
      userProperties: { site: 'a' },
    });
    expect(a.properties!.messageExpiryInterval).toBeGreaterThanOrEqual(69);
    expect(a.properties!.messageExpiryInterval).toBeLessThanOrEqual(70);
    expect(seen.find((p) => p.topic === 'props/c')!.properties).toMatchObject({ contentType: 'text/plain' });
  });

  it('drops what the upstream refuses in its PUBACK or PUBREC, and forwards the rest', async () => {
    // Anonymous clients may write under allowed/ only (Mosquitto answers others with reason 0x87).
    // Mosquitto started as root reads it as the mosquitto user.
    const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-acl-'));
    chmodSync(dir, 0o755);
    const acl = path.join(dir, 'acl');
    writeFileSync(acl, 'topic readwrite allowed/#\n', { mode: 0o644 });
    upstream = await startMosquitto({ extraConfig: `acl_file ${acl}` });
    collector = await collect(upstream.port, ['allowed/#'], { protocolVersion: 5 });
    gateway = await startLocal([
      {
        name: 'plant',
        url: `mqtt://127.0.0.1:${upstream.port}`,
        protocolVersion: 5,
        statusTopic: false,
        out: [
          { filter: 'allowed/#', qos: 1 },
          { filter: 'denied1/#', qos: 1 },
          { filter: 'denied2/#', qos: 2 },
        ],
      },
    ]);
    await waitFor(() => gateway!.manager.status()[0]!.connected, 10_000, 'the bridge to connect');
    const publish = (topic: string) =>
      gateway!.broker.publish({ topic, payload: Buffer.from(topic), qos: 1, retain: false });
    publish('denied1/a');
    publish('allowed/1');
    publish('denied2/b');
    publish('allowed/2');
    await waitFor(() => collector!.messages.length === 2, 10_000, 'the allowed messages');
    await waitFor(
      () => gateway!.manager.status()[0]!.droppedBy['rejected-upstream'] === 2,
      10_000,
      'the two refusals',
    );
    expect(collector.messages.map((m) => m.topic)).toEqual(['allowed/1', 'allowed/2']);
    await waitFor(() => gateway!.manager.status()[0]!.outbox.messages === 0, 10_000, 'the outbox to empty');
    expect(gateway.manager.status()[0]).toMatchObject({ sent: 2, inflight: 0 });
    rmSync(dir, { recursive: true, force: true });
  });
});
