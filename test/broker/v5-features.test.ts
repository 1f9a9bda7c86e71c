// MQTT 5 features end to end, with MQTT.js where it speaks them and raw packets where a test must
// see the wire (aliases, receive maximum, packet sizes).
import { describe, expect, it } from 'vitest';
import type {
  IConnackPacket,
  IDisconnectPacket,
  IPublishPacket,
  IPubackPacket,
  IUnsubackPacket,
} from 'mqtt-packet';
import {
  collect,
  connect,
  connectCollecting,
  connectPacket,
  deliveredSoFar,
  packet,
  parsePackets,
  pingRoundTrip,
  rawSocket,
  subscribe,
  useBroker,
  waitForCount,
} from './helpers.js';
import { sleep, waitFor } from '../helpers/net.js';

const b = useBroker({ limits: { receiveMaximum: 3, maxKeepAliveSec: 10, topicAliasMaximum: 4 } });

const publishes = (bytes: Buffer) =>
  parsePackets(bytes, 5).filter((p): p is IPublishPacket => p.cmd === 'publish');

async function v5Raw(clientId: string, properties: Record<string, unknown> = {}) {
  const s = await rawSocket(b.port);
  s.write(connectPacket(clientId, { protocolVersion: 5, properties }));
  await waitFor(() => parsePackets(s.all(), 5).length > 0, 10_000, 'CONNACK');
  return s;
}

describe('CONNACK', () => {
  it('assigns a client id, caps keep alive, and advertises the broker limits', async () => {
    const { connack } = await connectCollecting(b.url, { protocolVersion: 5, clientId: '', keepalive: 100 });
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^tagwire-/);
    expect(connack.properties?.serverKeepAlive).toBe(10);
    expect(connack.properties).toMatchObject({
      receiveMaximum: 3,
      topicAliasMaximum: 4,
      sharedSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      wildcardSubscriptionAvailable: true,
      retainAvailable: true,
    });
  });

  it('answers an unsupported protocol version with return code 1 and closes', async () => {
    const s = await rawSocket(b.port);
    const bytes = connectPacket('future');
    bytes[8] = 6; // protocol level byte after "\0\x04MQTT"
    s.write(bytes);
    await s.ended;
    expect([...s.all()]).toEqual([0x20, 0x02, 0x00, 0x01]);
  });

  it('speaks MQTT 3.1 (MQIsdp) too', async () => {
    const old = await connect(b.url, { protocolVersion: 3, protocolId: 'MQIsdp', clientId: 'plc-31' });
    const got = collect(old);
    await subscribe(old, 'v31/#', { qos: 1 });
    await old.publishAsync('v31/x', 'from 3.1', { qos: 1 });
    await waitForCount(got, 1);
    expect(got[0]!.payload).toBe('from 3.1');
  });
});

describe('properties end to end', () => {
  it('carries user properties, content type, payload format, response topic and correlation data (request/response)', async () => {
    const responder = await connect(b.url, { protocolVersion: 5 });
    responder.on('message', (_topic, payload, pkt) => {
      const p = pkt.properties!;
      void responder.publishAsync(p.responseTopic!, `re:${payload.toString()}`, {
        qos: 1,
        properties: { correlationData: p.correlationData, userProperties: { answeredBy: 'responder' } },
      });
    });
    await subscribe(responder, 'svc/echo', { qos: 1 });
    const requester = await connect(b.url, { protocolVersion: 5 });
    const got = collect(requester);
    await subscribe(requester, 'svc/reply/me', { qos: 1 });
    await requester.publishAsync('svc/echo', 'ping', {
      qos: 1,
      properties: {
        responseTopic: 'svc/reply/me',
        correlationData: Buffer.from('req-42'),
        contentType: 'text/plain',
        payloadFormatIndicator: true,
        userProperties: { a: '1', b: ['x', 'y'] },
      },
    });
    await waitForCount(got, 1);
    expect(got[0]!.payload).toBe('re:ping');
    expect((got[0]!.properties!.correlationData as Buffer).toString()).toBe('req-42');
    expect(got[0]!.properties!.userProperties).toEqual({ answeredBy: 'responder' });
  });

  it('refuses a payload marked UTF-8 that is not (PUBACK 0x99) and delivers nothing', async () => {
    const watcher = await connect(b.url, { protocolVersion: 5 });
    const got = collect(watcher);
    await subscribe(watcher, 'pfi/#', { qos: 1 });
    const s = await v5Raw('pfi-sender');
    s.write(
      packet(
        {
          cmd: 'publish',
          topic: 'pfi/bad',
          payload: Buffer.from([0xc3, 0x28]),
          qos: 1,
          messageId: 5,
          retain: false,
          dup: false,
          properties: { payloadFormatIndicator: true },
        },
        5,
      ),
    );
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'puback'), 10_000, 'PUBACK');
    expect((parsePackets(s.all(), 5).find((p) => p.cmd === 'puback') as IPubackPacket).reasonCode).toBe(0x99);
    // A good message from the same sender, after the bad one: once it is in, the bad one is not coming.
    s.write(
      packet(
        { cmd: 'publish', topic: 'pfi/good', payload: Buffer.from('ok'), qos: 0, retain: false, dup: false },
        5,
      ),
    );
    await waitForCount(got, 1);
    expect(got.map((m) => m.topic)).toEqual(['pfi/good']);
  });

  it('counts message expiry down while queued and drops expired messages', async () => {
    const persistent = {
      protocolVersion: 5 as const,
      clientId: 'expiring',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    };
    const first = await connect(b.url, persistent);
    await subscribe(first, 'exp/#', { qos: 1 });
    await new Promise<void>((r) => first.end(false, {}, () => r()));
    const pub = await connect(b.url, { protocolVersion: 5 });
    await pub.publishAsync('exp/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('exp/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await sleep(2100); // time itself is under test: the first message's 1 s must run out
    const { client, got } = await connectCollecting(b.url, persistent);
    await deliveredSoFar(pub, client, got);
    expect(got.map((m) => m.topic)).toEqual(['exp/long']);
    expect(got[0]!.properties!.messageExpiryInterval).toBeLessThanOrEqual(58);
  });
});

describe('subscription options', () => {
  it('no-local keeps a client from getting its own messages', async () => {
    const c = await connect(b.url, { protocolVersion: 5 });
    const got = collect(c);
    await subscribe(c, 'nl/t', { qos: 1, nl: true });
    const other = await connect(b.url, { protocolVersion: 5 });
    await c.publishAsync('nl/t', 'mine', { qos: 1 });
    await other.publishAsync('nl/t', 'theirs', { qos: 1 });
    // 'mine' was routed before 'theirs' was sent, and delivery is in order.
    await waitFor(() => got.some((m) => m.payload === 'theirs'), 10_000, "'theirs'");
    expect(got.map((m) => m.payload)).toEqual(['theirs']);
  });

  it('retain-as-published keeps the retain flag on live messages', async () => {
    const c = await connect(b.url, { protocolVersion: 5 });
    const got = collect(c);
    await subscribe(c, 'rap/t', { qos: 1, rap: true });
    const pub = await connect(b.url, { protocolVersion: 5 });
    await pub.publishAsync('rap/t', 'r', { qos: 1, retain: true });
    await pub.publishAsync('rap/t', 'n', { qos: 1, retain: false });
    await waitForCount(got, 2);
    expect(got.map((m) => [m.payload, m.retain])).toEqual([
      ['r', true],
      ['n', false],
    ]);
  });

  it('retain handling: 0 always, 1 only for a new subscription, 2 never', async () => {
    const pub = await connect(b.url);
    await pub.publishAsync('rh/t', 'kept', { qos: 1, retain: true });
    const c = await connect(b.url, { protocolVersion: 5 });
    const got = collect(c);
    await subscribe(c, 'rh/t', { qos: 1, rh: 1 });
    await subscribe(c, 'rh/t', { qos: 1, rh: 1 }); // existing now: no resend
    await subscribe(c, 'rh/+', { qos: 1, rh: 2 });
    await subscribe(c, 'rh/#', { qos: 1, rh: 0 });
    await subscribe(c, 'rh/#', { qos: 1, rh: 0 }); // 0 sends again
    await deliveredSoFar(pub, c, got);
    expect(got).toHaveLength(3);
    expect(got.every((m) => m.retain)).toBe(true);
  });

  it('puts every matching subscription identifier on the message', async () => {
    const c = await connect(b.url, { protocolVersion: 5 });
    const got = collect(c);
    await c.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await c.subscribeAsync('sid/#', { qos: 0, properties: { subscriptionIdentifier: 300 } });
    b.broker.publish({ topic: 'sid/a', payload: Buffer.from('x'), qos: 1, retain: false });
    await deliveredSoFar(b.broker, c, got);
    expect(got).toHaveLength(1);
    expect([got[0]!.properties!.subscriptionIdentifier].flat().sort((x, y) => Number(x) - Number(y))).toEqual(
      [7, 300],
    );
  });

  it('shares $share/group subscriptions round robin, beside normal subscribers', async () => {
    const workers = await Promise.all([1, 2, 3].map(() => connect(b.url, { protocolVersion: 5 })));
    const inboxes = workers.map(collect);
    for (const w of workers) await subscribe(w, '$share/pool/jobs/#', { qos: 1 });
    const auditor = await connect(b.url, { protocolVersion: 4 });
    const audit = collect(auditor);
    await subscribe(auditor, 'jobs/#', { qos: 1 });
    for (let i = 0; i < 30; i++)
      b.broker.publish({ topic: `jobs/${i}`, payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitForCount(audit, 30);
    await waitFor(() => inboxes.reduce((n, x) => n + x.length, 0) === 30, 10_000, '30 shared deliveries');
    expect(inboxes.map((x) => x.length)).toEqual([10, 10, 10]);
    const all = inboxes
      .flat()
      .map((m) => Number(m.payload))
      .sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('says 0x11 when unsubscribing from a filter it never had', async () => {
    const s = await v5Raw('unsub');
    s.write(packet({ cmd: 'unsubscribe', messageId: 9, unsubscriptions: ['never/had'] }, 5));
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'unsuback'), 10_000, 'UNSUBACK');
    expect((parsePackets(s.all(), 5).find((p) => p.cmd === 'unsuback') as IUnsubackPacket).granted).toEqual([
      0x11,
    ]);
  });
});

describe('flow control and sizes', () => {
  it('sends no more unacknowledged QoS 1 than the client Receive Maximum', async () => {
    const s = await v5Raw('slow-reader', { receiveMaximum: 2 });
    s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/t', qos: 1 }] }, 5));
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
    for (let i = 0; i < 5; i++)
      b.broker.publish({ topic: 'rm/t', payload: Buffer.from(String(i)), qos: 1, retain: false });
    await waitFor(() => publishes(s.all()).length === 2, 10_000, 'two PUBLISHes');
    await pingRoundTrip(s, 5);
    expect(publishes(s.all())).toHaveLength(2);
    for (const p of publishes(s.all())) s.write(packet({ cmd: 'puback', messageId: p.messageId }, 5));
    await waitFor(() => publishes(s.all()).length === 4, 10_000, 'two more');
    expect(publishes(s.all()).map((p) => p.payload.toString())).toEqual(['0', '1', '2', '3']);
  });

  it('disconnects a client that exceeds the broker Receive Maximum with 0x93', async () => {
    const s = await v5Raw('flooder');
    for (let id = 1; id <= 4; id++) {
      s.write(
        packet(
          {
            cmd: 'publish',
            topic: 'flood',
            payload: Buffer.from('x'),
            qos: 2,
            messageId: id,
            retain: false,
            dup: false,
          },
          5,
        ),
      );
    }
    await s.ended;
    const disconnect = parsePackets(s.all(), 5).find((p) => p.cmd === 'disconnect') as IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x93);
  });

  it('does not send a client packets above its Maximum Packet Size', async () => {
    const s = await v5Raw('small-buffer', { maximumPacketSize: 64 });
    s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'mps/#', qos: 0 }] }, 5));
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
    b.broker.publish({ topic: 'mps/big', payload: Buffer.alloc(200, 1), qos: 0, retain: false });
    b.broker.publish({ topic: 'mps/small', payload: Buffer.from('ok'), qos: 0, retain: false });
    // In order: the big one, had it been sent, would be in before the small one.
    await waitFor(() => publishes(s.all()).length === 1, 10_000, 'the small one');
    expect(publishes(s.all()).map((p) => p.topic)).toEqual(['mps/small']);
  });
});

/** A QoS 0 PUBLISH carrying a topic alias, written raw (MQTT.js would not send a wrong one). */
const aliasedPublish = (topic: string, topicAlias: number): Buffer =>
  packet(
    {
      cmd: 'publish',
      topic,
      payload: Buffer.from('x'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias },
    },
    5,
  );

describe('topic aliases', () => {
  it('resolves aliases the client sets (MQTT.js autoAssignTopicAlias)', async () => {
    const watcher = await connect(b.url);
    const got = collect(watcher);
    await subscribe(watcher, 'alias/#', { qos: 1 });
    const pub = await connect(b.url, { protocolVersion: 5, autoAssignTopicAlias: true });
    for (let i = 0; i < 3; i++) await pub.publishAsync('alias/long/topic/name', String(i), { qos: 1 });
    await waitForCount(got, 3);
    expect(got.map((m) => m.topic)).toEqual([
      'alias/long/topic/name',
      'alias/long/topic/name',
      'alias/long/topic/name',
    ]);
  });

  it('disconnects on an alias above the maximum (0x94) or one never set (0x82)', async () => {
    const high = await v5Raw('alias-high');
    high.write(aliasedPublish('a', 5));
    await high.ended;
    expect(
      (parsePackets(high.all(), 5).find((p) => p.cmd === 'disconnect') as IDisconnectPacket).reasonCode,
    ).toBe(0x94);
    const unset = await v5Raw('alias-unset');
    unset.write(aliasedPublish('', 2));
    await unset.ended;
    expect(
      (parsePackets(unset.all(), 5).find((p) => p.cmd === 'disconnect') as IDisconnectPacket).reasonCode,
    ).toBe(0x82);
  });

  it('uses aliases towards a client that accepts them', async () => {
    const s = await v5Raw('alias-reader', { topicAliasMaximum: 2 });
    s.write(packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'out/#', qos: 0 }] }, 5));
    await waitFor(() => parsePackets(s.all(), 5).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
    for (const t of ['out/a', 'out/a', 'out/b', 'out/c', 'out/b'])
      b.broker.publish({ topic: t, payload: Buffer.from(t), qos: 0, retain: false });
    await waitFor(() => publishes(s.all()).length === 5, 10_000, 'five PUBLISHes');
    expect(publishes(s.all()).map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()])).toEqual([
      ['out/a', 1, 'out/a'],
      ['', 1, 'out/a'],
      ['out/b', 2, 'out/b'],
      ['out/c', undefined, 'out/c'],
      ['', 2, 'out/b'],
    ]);
  });
});

it('a connack is the first thing a refused client hears (v5 reason string included)', async () => {
  const s = await rawSocket(b.port);
  s.write(
    connectPacket('scram', { protocolVersion: 5, properties: { authenticationMethod: 'SCRAM-SHA-1' } }),
  );
  await s.ended;
  const connack = parsePackets(s.all(), 5)[0] as IConnackPacket;
  expect(connack.reasonCode).toBe(0x8c);
  expect(connack.properties?.reasonString).toContain('enhanced authentication');
});
