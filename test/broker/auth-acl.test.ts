// Authentication (scrypt users, anonymous policy per listener) and the ACL (publish/subscribe per
// user, $anonymous and *, %u and %c), with the reason codes each version gets.
import { describe, expect, it } from 'vitest';
import type { IConnackPacket, ISubackPacket } from 'mqtt-packet';
import { hashPassword } from '../../src/broker/auth/password.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import { listenerPolicy } from '../../src/broker/listeners/listen.js';
import {
  collect,
  connect,
  connectPacket,
  packet,
  parsePackets,
  rawSocket,
  startBroker,
  subscribe,
  useBroker,
  waitForCount,
} from './helpers.js';
import { waitFor } from '../helpers/net.js';

const b = useBroker(async () => ({
  allowAnonymous: true,
  users: [
    { username: 'ops', passwordHash: await hashPassword('ops-pw') },
    { username: 'hmi', passwordHash: await hashPassword('hmi-pw') },
  ],
  acl: [
    { user: 'ops', publish: ['acme/#'], subscribe: ['acme/#', '$SYS/#'] },
    { user: 'hmi', publish: ['acme/+/+/+/+/set', 'clients/%u/%c/#'], subscribe: ['acme/#'] },
    { user: '$anonymous', subscribe: ['public/#'] },
    { user: '*', publish: ['shared/%c'] },
  ],
}));

async function connackOf(bytes: Buffer, version: 4 | 5, port = b.port): Promise<IConnackPacket> {
  const s = await rawSocket(port);
  s.write(bytes);
  await waitFor(() => parsePackets(s.all(), version).length > 0, 10_000, 'CONNACK');
  return parsePackets(s.all(), version)[0] as IConnackPacket;
}

describe('authentication', () => {
  it('accepts the right password and refuses a wrong one (v5 0x86, v3.1.1 code 4)', async () => {
    const ok = await connect(b.url, { username: 'ops', password: 'ops-pw' });
    expect(ok.connected).toBe(true);
    expect(
      (
        await connackOf(
          connectPacket('bad5', { protocolVersion: 5, username: 'ops', password: Buffer.from('nope') }),
          5,
        )
      ).reasonCode,
    ).toBe(0x86);
    expect(
      (await connackOf(connectPacket('bad4', { username: 'ops', password: Buffer.from('nope') }), 4))
        .returnCode,
    ).toBe(4);
    expect(
      (await connackOf(connectPacket('ghost', { username: 'ghost', password: Buffer.from('x') }), 4))
        .returnCode,
    ).toBe(4);
  });

  it('refuses anonymous clients where the listener does not allow them (v5 0x87, v3.1.1 code 5)', async () => {
    const closed = await startBroker({
      listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 0, allowAnonymous: false }],
    });
    try {
      expect(
        (await connackOf(connectPacket('anon5', { protocolVersion: 5 }), 5, closed.port)).reasonCode,
      ).toBe(0x87);
      expect((await connackOf(connectPacket('anon4'), 4, closed.port)).returnCode).toBe(5);
    } finally {
      await closed.stop();
    }
  });

  it('allows anonymous access by default only on loopback listeners', () => {
    const config = parseBrokerConfig({});
    const at = (host: string, allowAnonymous?: boolean) =>
      listenerPolicy({ protocol: 'mqtt', host, port: 1883, path: '/mqtt', allowAnonymous }, config)
        .allowAnonymous;
    expect(at('127.0.0.1')).toBe(true);
    expect(at('::1')).toBe(true);
    expect(at('0.0.0.0')).toBe(false);
    expect(at('192.168.1.10')).toBe(false);
    expect(at('0.0.0.0', true)).toBe(true);
    expect(at('127.0.0.1', false)).toBe(false);
  });
});

describe('ACL', () => {
  it('refuses a subscription that can carry nothing allowed: v5 0x87, v3.1.1 0x80', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const s = await rawSocket(b.port);
      s.write(
        connectPacket(`acl-sub-${protocolVersion}`, {
          protocolVersion,
          username: 'hmi',
          password: Buffer.from('hmi-pw'),
        }),
      );
      s.write(
        packet(
          {
            cmd: 'subscribe',
            messageId: 3,
            subscriptions: [
              { topic: 'acme/plant1/#', qos: 1 },
              { topic: 'other/#', qos: 1 },
              { topic: '#', qos: 0 },
            ],
          },
          protocolVersion,
        ),
      );
      await waitFor(
        () => parsePackets(s.all(), protocolVersion).some((p) => p.cmd === 'suback'),
        10_000,
        'SUBACK',
      );
      const suback = parsePackets(s.all(), protocolVersion).find((p) => p.cmd === 'suback') as ISubackPacket;
      const denied = protocolVersion === 5 ? 0x87 : 0x80;
      // `#` can carry acme/... topics: granted, and checked per message on delivery.
      expect(suback.granted).toEqual([1, denied, 0]);
    }
  });

  it('drops a denied publish (v5: PUBACK 0x87) and delivers allowed ones', async () => {
    const watcher = await connect(b.url, { username: 'ops', password: 'ops-pw' });
    const got = collect(watcher);
    await subscribe(watcher, 'acme/#', { qos: 1 });
    const hmi = await connect(b.url, {
      protocolVersion: 5,
      username: 'hmi',
      password: 'hmi-pw',
      clientId: 'panel-1',
    });
    // MQTT.js turns a PUBACK with a failure reason code into a rejected publish.
    await expect(
      hmi.publishAsync('acme/plant1/line1/press1/temperature', '99', { qos: 1 }),
    ).rejects.toMatchObject({
      code: 0x87,
    });
    await hmi.publishAsync('acme/plant1/line1/press1/setpoint/set', '{"value":1}', { qos: 1 });
    // In order: the denied one, had it gone through, would be in first.
    await waitForCount(got, 1);
    expect(got.map((m) => m.topic)).toEqual(['acme/plant1/line1/press1/setpoint/set']);
  });

  it('substitutes %u and %c, and applies $anonymous and * rules', async () => {
    const seen: string[] = [];
    const off = b.broker.subscribe('#', (m) => seen.push(m.topic));
    const hmi = await connect(b.url, { username: 'hmi', password: 'hmi-pw', clientId: 'panel-2' });
    await hmi.publishAsync('clients/hmi/panel-2/state', 'mine', { qos: 1 });
    await hmi.publishAsync('clients/hmi/panel-9/state', 'not mine', { qos: 1 });
    await hmi.publishAsync('shared/panel-2', 'everyone may', { qos: 1 });
    const anon = await connect(b.url, { clientId: 'kiosk' });
    await anon.publishAsync('public/x', 'not allowed to publish', { qos: 1 });
    await anon.publishAsync('shared/kiosk', 'anonymous too', { qos: 1 });
    // Each client's publishes are routed in order: the denied ones came before the last allowed one.
    await waitFor(() => seen.includes('shared/kiosk'), 10_000, 'the last allowed publish');
    off();
    expect(seen).toEqual(['clients/hmi/panel-2/state', 'shared/panel-2', 'shared/kiosk']);
  });

  it('answers mayPublish for bridges and clients by the same rules', () => {
    expect(b.broker.mayPublish({ kind: 'bridge', bridge: 'plant', username: 'ops' }, 'acme/x')).toBe(true);
    expect(b.broker.mayPublish({ kind: 'bridge', bridge: 'plant', username: 'ops' }, 'other/x')).toBe(false);
    expect(b.broker.mayPublish({ kind: 'bridge', bridge: 'plant' }, 'acme/x')).toBe(false);
    expect(b.broker.mayPublish({ kind: 'client', clientId: 'c', username: 'hmi' }, 'acme/a/b/c/d/set')).toBe(
      true,
    );
    expect(b.broker.mayPublish({ kind: 'internal', component: 'mapping' }, 'anything')).toBe(true);
  });
});
