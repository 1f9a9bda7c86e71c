// Sessions: clean and persistent, session present, v5 expiry, takeover, redelivery with DUP, and
// persistent sessions surviving a broker restart through SQLite.
import { describe, expect, it } from 'vitest';
import type { IConnackPacket, IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import { Database } from '../../src/store/db.js';
import {
  brokersPerTest,
  closeClients,
  collect,
  connect,
  connectCollecting,
  connectPacket,
  packet,
  deliveredSoFar,
  parsePackets,
  pingRoundTrip,
  rawSocket,
  startBroker,
  subscribe,
  tempDatabase,
  waitForCount,
} from './helpers.js';
import { waitFor } from '../helpers/net.js';

const { start: broker, cleanup } = brokersPerTest();

describe('persistent sessions', () => {
  it.each([4, 5] as const)(
    'v%i: queues QoS 1/2 while offline and resumes with session present',
    async (protocolVersion) => {
      const b = await broker();
      const persistent = protocolVersion === 5 ? { properties: { sessionExpiryInterval: 60 } } : {};
      const first = await connect(b.url, {
        protocolVersion,
        clientId: `durable${protocolVersion}`,
        clean: false,
        ...persistent,
      });
      expect(first.connected).toBe(true);
      await subscribe(first, 'offline/#', { qos: 2 });
      await new Promise<void>((r) => first.end(false, {}, () => r()));

      const pub = await connect(b.url, { protocolVersion });
      await pub.publishAsync('offline/a', 'q1', { qos: 1 });
      await pub.publishAsync('offline/b', 'q2', { qos: 2 });
      await pub.publishAsync('offline/c', 'q0 is not kept', { qos: 0 });

      const { client, got, connack } = await connectCollecting(b.url, {
        protocolVersion,
        clientId: `durable${protocolVersion}`,
        clean: false,
        ...persistent,
      });
      expect(connack.sessionPresent).toBe(true);
      await deliveredSoFar(pub, client, got);
      expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
        ['offline/a', 'q1', 1],
        ['offline/b', 'q2', 2],
      ]);
    },
  );

  it('a clean start discards the stored session', async () => {
    const b = await broker();
    const first = await connect(b.url, { protocolVersion: 4, clientId: 'cleaner', clean: false });
    await subscribe(first, 'gone/#', { qos: 1 });
    await new Promise<void>((r) => first.end(false, {}, () => r()));
    const s = await rawSocket(b.port);
    s.write(connectPacket('cleaner', { clean: true }));
    await waitFor(() => parsePackets(s.all()).length > 0, 10_000, 'CONNACK');
    expect((parsePackets(s.all())[0] as IConnackPacket).sessionPresent).toBe(false);
  });

  it('v5 session expiry ends an offline session after its interval', async () => {
    const b = await broker();
    const first = await connect(b.url, {
      protocolVersion: 5,
      clientId: 'brief',
      clean: false,
      properties: { sessionExpiryInterval: 1 },
    });
    await subscribe(first, 'brief/#', { qos: 1 });
    await new Promise<void>((r) => first.end(false, {}, () => r()));
    await waitFor(() => b.broker.stats().sessions === 0, 10_000, 'the session to expire');
    const s = await rawSocket(b.port);
    s.write(
      connectPacket('brief', { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 1 } }),
    );
    await waitFor(() => parsePackets(s.all(), 5).length > 0, 10_000, 'CONNACK');
    expect((parsePackets(s.all(), 5)[0] as IConnackPacket).sessionPresent).toBe(false);
  });

  it('resends unacknowledged QoS 1 with DUP on resumption, then completes it', async () => {
    const b = await broker();
    const s = await rawSocket(b.port);
    s.write(connectPacket('no-acker', { clean: false }));
    s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'dup/t', qos: 1 }] }));
    await waitFor(() => parsePackets(s.all()).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
    b.broker.publish({ topic: 'dup/t', payload: Buffer.from('once'), qos: 1, retain: false });
    await waitFor(() => parsePackets(s.all()).some((p) => p.cmd === 'publish'), 10_000, 'PUBLISH');
    const firstSend = parsePackets(s.all()).find((p) => p.cmd === 'publish') as IPublishPacket;
    expect(firstSend.dup).toBe(false);
    s.socket.destroy(); // no PUBACK

    const again = await rawSocket(b.port);
    again.write(connectPacket('no-acker', { clean: false }));
    await waitFor(() => parsePackets(again.all()).some((p) => p.cmd === 'publish'), 10_000, 'the resend');
    const resend = parsePackets(again.all()).find((p) => p.cmd === 'publish') as IPublishPacket;
    expect(resend).toMatchObject({ dup: true, messageId: firstSend.messageId, topic: 'dup/t' });
    expect(resend.payload.toString()).toBe('once');
    again.write(packet({ cmd: 'puback', messageId: resend.messageId }));
    await pingRoundTrip(again); // the PUBACK is handled before the PINGREQ behind it
    again.socket.destroy();

    const third = await rawSocket(b.port);
    third.write(connectPacket('no-acker', { clean: false }));
    await waitFor(() => parsePackets(third.all()).length > 0, 10_000, 'CONNACK');
    await pingRoundTrip(third); // a resend would go out on resumption, before this PINGRESP
    expect(parsePackets(third.all()).filter((p) => p.cmd === 'publish')).toHaveLength(0);
  });

  it('keeps subscriptions, queued and in-flight messages across a broker restart', async () => {
    const tmp = await tempDatabase();
    cleanup(tmp.cleanup);
    const first = await startBroker({}, tmp.db);
    // A v5 client subscribes and receives one QoS 2 message it never completes.
    const s = await rawSocket(first.port);
    s.write(
      connectPacket('plant-historian', {
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      }),
    );
    s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'hist/#', qos: 2 }] }, 5));
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
    first.broker.publish({ topic: 'hist/inflight', payload: Buffer.from('1'), qos: 2, retain: false });
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'publish'), 10_000, 'PUBLISH');
    s.socket.destroy();
    await waitFor(() => first.broker.stats().connections === 0, 10_000, 'the broker to see it gone');
    // Two more arrive while it is offline, one of them with v5 properties.
    const pub = await connect(first.url, { protocolVersion: 5 });
    await pub.publishAsync('hist/queued', '2', {
      qos: 1,
      properties: { contentType: 'text/plain', correlationData: Buffer.from('c') },
    });
    await pub.publishAsync('hist/queued', '3', { qos: 2 });
    await closeClients();
    await first.stop();
    await tmp.db.close();

    const db = await Database.open(tmp.file);
    cleanup(() => db.close());
    const second = await broker({}, db);
    const { got } = await connectCollecting(second.url, {
      protocolVersion: 5,
      clientId: 'plant-historian',
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    await waitForCount(got, 3);
    // MQTT.js hands a QoS 2 message over at PUBREL, so only per-topic order is visible here.
    expect(got.map((m) => [m.topic, m.payload, m.qos]).sort()).toEqual([
      ['hist/inflight', '1', 2],
      ['hist/queued', '2', 1],
      ['hist/queued', '3', 2],
    ]);
    expect(got.filter((m) => m.topic === 'hist/queued').map((m) => m.payload)).toEqual(['2', '3']);
    expect(got.find((m) => m.payload === '2')!.properties).toMatchObject({ contentType: 'text/plain' });
    // The subscription itself came back too.
    second.broker.publish({ topic: 'hist/live', payload: Buffer.from('4'), qos: 1, retain: false });
    await waitForCount(got, 4);
    expect(got[3]!.payload).toBe('4');
  });

  it('forgets a stored session in SQLite once the client ends it (expiry 0 on reconnect)', async () => {
    const tmp = await tempDatabase();
    cleanup(tmp.cleanup);
    const first = await startBroker({}, tmp.db);
    const keep = { protocolVersion: 5 as const, clientId: 'ender', clean: false };
    const c1 = await connect(first.url, { ...keep, properties: { sessionExpiryInterval: 600 } });
    await subscribe(c1, 'end/#', { qos: 1 });
    await new Promise<void>((r) => c1.end(false, {}, () => r()));
    const c2 = await connect(first.url, { ...keep, properties: { sessionExpiryInterval: 0 } });
    await new Promise<void>((r) => c2.end(false, {}, () => r()));
    await waitFor(() => first.broker.stats().connections === 0, 10_000, 'the broker to see it gone');
    await first.stop();
    const rows = await tmp.db.all<{ client_id: string }>('SELECT client_id FROM broker_sessions');
    expect(rows).toEqual([]);
  });
});

describe('takeover', () => {
  it('disconnects the first connection of a client id with v5 reason 0x8E', async () => {
    const b = await broker();
    const first = await connect(b.url, { protocolVersion: 5, clientId: 'twin' });
    const disconnect = new Promise<IDisconnectPacket>((r) => first.once('disconnect', r));
    const second = await connect(b.url, { protocolVersion: 5, clientId: 'twin' });
    expect((await disconnect).reasonCode).toBe(0x8e);
    const got = collect(second);
    await subscribe(second, 'twin/t', { qos: 1 });
    b.broker.publish({ topic: 'twin/t', payload: Buffer.from('to the new one'), qos: 1, retain: false });
    await waitForCount(got, 1);
  });

  it('a v3.1.1 takeover closes the old socket', async () => {
    const b = await broker();
    const old = await rawSocket(b.port);
    old.write(connectPacket('twin311'));
    await waitFor(() => old.received.length > 0, 10_000, 'CONNACK');
    const fresh = await connect(b.url, { protocolVersion: 4, clientId: 'twin311' });
    await old.ended;
    expect(fresh.connected).toBe(true);
  });
});

describe('QoS 2 exactly once', () => {
  it('a resent QoS 2 PUBLISH with the same id before PUBREL is delivered once', async () => {
    const b = await broker();
    const sub = await connect(b.url);
    const got = collect(sub);
    await subscribe(sub, 'once/t', { qos: 2 });
    const s = await rawSocket(b.port);
    s.write(connectPacket('resender'));
    const publish = {
      cmd: 'publish',
      topic: 'once/t',
      payload: Buffer.from('x'),
      qos: 2,
      messageId: 7,
      retain: false,
    } as const;
    s.write(packet({ ...publish, dup: false }));
    s.write(packet({ ...publish, dup: true }));
    await waitFor(
      () => parsePackets(s.all()).filter((p) => p.cmd === 'pubrec').length === 2,
      10_000,
      'two PUBRECs',
    );
    s.write(packet({ cmd: 'pubrel', messageId: 7 }));
    await waitFor(() => parsePackets(s.all()).some((p) => p.cmd === 'pubcomp'), 10_000, 'PUBCOMP');
    // After the release the id is free again: the same id is a new message.
    s.write(packet({ ...publish, dup: false, payload: Buffer.from('y') }));
    // In order: a second 'x' would be in before 'y'.
    await waitFor(() => got.some((m) => m.payload === 'y'), 10_000, "'y'");
    expect(got.map((m) => m.payload)).toEqual(['x', 'y']);
  });
});
