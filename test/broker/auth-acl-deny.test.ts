// Deny rules and the read check on delivery: a `#` subscription is granted and carries only what
// the client may read (live, retained, restored after a restart, shared); deny overrides allow
// for publishing too (commands included); the config refuses malformed rules.
import { afterEach, describe, expect, it } from 'vitest';
import { Acl } from '../../src/broker/auth/acl.js';
import { hashPassword } from '../../src/broker/auth/password.js';
import { parseBrokerConfig, type AclRule } from '../../src/broker/config.js';
import { filtersIntersect } from '../../src/broker/topics/validate.js';
import type { Database } from '../../src/store/db.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import {
  closeClients,
  collect,
  connect,
  connectCollecting,
  startBroker,
  subscribe,
  tempDatabase,
  type Received,
} from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await closeClients();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const RULES = [
  { user: 'ops', publish: ['#'], subscribe: ['#'] },
  { user: 'reader', subscribe: ['acme/#'] },
  { user: 'reader', access: 'deny', subscribe: ['acme/secret/#'] },
  { user: 'writer', publish: ['acme/#'] },
  { user: 'writer', access: 'deny', publish: ['acme/secret/#', 'acme/+/+/+/+/set'] },
];

async function broker(db?: Database) {
  const b = await startBroker(
    {
      users: await Promise.all(
        ['ops', 'reader', 'writer'].map(async (username) => ({
          username,
          passwordHash: await hashPassword(`${username}-pw`),
        })),
      ),
      acl: RULES,
    },
    db,
  );
  cleanups.push(b.stop);
  return b;
}

const as = (user: string, extra: Record<string, unknown> = {}) => ({
  username: user,
  password: `${user}-pw`,
  ...extra,
});

/** Publishes `topics` in order, then a readable marker; returns once the marker arrived. */
async function publishThenMarker(
  publisher: Awaited<ReturnType<typeof connect>>,
  got: Received[],
  topics: string[],
): Promise<string[]> {
  for (const topic of [...topics, 'acme/marker']) await publisher.publishAsync(topic, 'x', { qos: 1 });
  await waitFor(() => got.some((m) => m.topic === 'acme/marker'), 10_000, 'the marker');
  return got.map((m) => m.topic).filter((t) => t !== 'acme/marker');
}

describe('deny rules on reading', () => {
  it('grants `#` and delivers only what the client may read', async () => {
    const b = await broker();
    const reader = await connect(b.url, as('reader', { protocolVersion: 5 }));
    const got = collect(reader);
    const granted = await subscribe(reader, ['#', '+/+'], { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1, 1]);
    const ops = await connect(b.url, as('ops'));
    // Overlapping subscriptions merge into one delivery; unreadable topics are not delivered at all.
    expect(await publishThenMarker(ops, got, ['acme/secret/y', 'other/z', 'acme/x', 'acme/secret'])).toEqual([
      'acme/x',
    ]);
  });

  it.each([
    [4, 0x80],
    [5, 0x87],
  ] as const)(
    'v%i: refuses a subscription that can carry nothing readable (%i)',
    async (protocolVersion, no) => {
      const b = await broker();
      const client = await connect(b.url, as('reader', { protocolVersion }));
      // MQTT.js rejects a SUBACK with a failure code, and carries the packet along.
      const err = (await subscribe(client, ['acme/secret/#', 'other/#', 'acme/secret/+/x', 'acme/+/y'], {
        qos: 1,
      }).catch((e: unknown) => e)) as { packet?: { granted: number[] } };
      expect(err.packet?.granted).toEqual([no, no, no, 1]);
    },
  );

  it('filters retained messages on subscribe (mosquitto_sub)', async () => {
    const b = await broker();
    const ops = await connect(b.url, as('ops'));
    for (const topic of ['acme/secret/y', 'other/z', 'acme/x'])
      await ops.publishAsync(topic, `retained ${topic}`, { qos: 1, retain: true });
    // The first message mosquitto_sub gets is the first readable one: the others were skipped.
    const res = await run('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', String(b.port), '-u', 'reader', '-P', 'reader-pw'],
      ...['-t', '#', '-C', '1', '-v', '-W', '10'],
    ]);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toBe('acme/x retained acme/x');
  });

  it('filters what a restored persistent session receives after a restart', async () => {
    const tmp = await tempDatabase();
    cleanups.push(tmp.cleanup);
    const first = await broker(tmp.db);
    const reader = await connect(first.url, as('reader', { clientId: 'durable-reader', clean: false }));
    await subscribe(reader, '#', { qos: 1 });
    await reader.endAsync();
    await first.stop();

    const second = await broker(tmp.db);
    const ops = await connect(second.url, as('ops'));
    for (const topic of ['acme/secret/y', 'other/z', 'acme/x', 'acme/marker'])
      await ops.publishAsync(topic, 'x', { qos: 1 });
    const { got, connack } = await connectCollecting(
      second.url,
      as('reader', { clientId: 'durable-reader', clean: false }),
    );
    expect(connack.sessionPresent).toBe(true);
    await waitFor(() => got.some((m) => m.topic === 'acme/marker'), 10_000, 'the marker');
    expect(got.map((m) => m.topic)).toEqual(['acme/x', 'acme/marker']);
  });

  it('gives a shared subscription message only to members that may read it', async () => {
    const b = await broker();
    const reader = await connect(b.url, as('reader'));
    const readerGot = collect(reader);
    await subscribe(reader, '$share/g/#', { qos: 1 });
    const opsSub = await connect(b.url, as('ops'));
    const opsGot = collect(opsSub);
    await subscribe(opsSub, '$share/g/#', { qos: 1 });
    const ops = await connect(b.url, as('ops'));
    for (let i = 0; i < 4; i++) await ops.publishAsync('acme/secret/y', `${i}`, { qos: 1 });
    await waitFor(() => opsGot.length === 4, 10_000, 'all secret messages at ops');
    await ops.publishAsync('acme/marker', 'm', { qos: 1 });
    await waitFor(() => readerGot.length + opsGot.length === 5, 10_000, 'the marker');
    expect(readerGot.map((m) => m.topic).filter((t) => t !== 'acme/marker')).toEqual([]);
  });
});

describe('deny rules on publishing', () => {
  it('refuses a denied publish (v5 PUBACK 0x87) and keeps it from commands and bridges', async () => {
    const b = await broker();
    const watcher = await connect(b.url, as('ops'));
    const got = collect(watcher);
    await subscribe(watcher, 'acme/#', { qos: 1 });
    const writer = await connect(b.url, as('writer', { protocolVersion: 5 }));
    await expect(writer.publishAsync('acme/secret/y', 'no', { qos: 1 })).rejects.toMatchObject({
      code: 0x87,
    });
    await expect(writer.publishAsync('acme/p/l/d/t/set', '{"value":1}', { qos: 1 })).rejects.toMatchObject({
      code: 0x87,
    });
    await writer.publishAsync('acme/x', 'yes', { qos: 1 });
    await waitFor(() => got.length > 0, 10_000, 'the allowed publish');
    expect(got.map((m) => m.topic)).toEqual(['acme/x']);
    // The command router and bridges ask the same question.
    const client = { kind: 'client', clientId: 'c', username: 'writer' } as const;
    expect(b.broker.mayPublish(client, 'acme/x')).toBe(true);
    expect(b.broker.mayPublish(client, 'acme/secret/a')).toBe(false);
    expect(b.broker.mayPublish(client, 'acme/p/l/d/t/set')).toBe(false);
    expect(b.broker.mayPublish({ kind: 'bridge', bridge: 'b', username: 'writer' }, 'acme/secret/a')).toBe(
      false,
    );
  });
});

describe('ACL decisions', () => {
  const rule = (r: Partial<AclRule> & { user: string }): AclRule => ({
    access: 'allow',
    publish: [],
    subscribe: [],
    ...r,
  });

  it('deny overrides allow whatever the order; a subscription is whole, filtered or refused', () => {
    const acl = new Acl([
      rule({ user: '*', access: 'deny', subscribe: ['acme/secret/#', 'private/%u/#'] }),
      rule({ user: 'r', subscribe: ['acme/#', 'private/#'] }),
    ]).forClient({ username: 'r', clientId: 'c' });
    expect(acl.mayRead('acme/x')).toBe(true);
    expect(acl.mayRead('acme/secret')).toBe(false); // 'acme/secret/#' matches its parent too
    expect(acl.mayRead('private/r/a')).toBe(false);
    expect(acl.mayRead('private/s/a')).toBe(true);
    expect(acl.subscription('acme/plant/#')).toBe('whole');
    expect(acl.subscription('acme/#')).toBe('filtered');
    expect(acl.subscription('#')).toBe('filtered');
    expect(acl.subscription('acme/secret/+')).toBe('refused');
    expect(acl.subscription('other/#')).toBe('refused');
    expect(acl.subscription('$SYS/#')).toBe('refused');
    expect([acl.maySubscribe('#'), acl.maySubscribe('acme/secret/#')]).toEqual([true, false]);
  });

  it('never lets a wildcard in a username or client id widen an allow', () => {
    const acl = new Acl([rule({ user: '*', publish: ['clients/%c/#'], subscribe: ['users/%u/#'] })]);
    const sneaky = acl.forClient({ username: '#', clientId: '+' });
    expect(sneaky.mayPublish('clients/other/x')).toBe(false);
    expect(sneaky.subscription('users/other/#')).toBe('refused');
    const deny = new Acl([
      rule({ user: '*', subscribe: ['#'] }),
      rule({ user: '*', access: 'deny', subscribe: ['users/%u/#'] }),
    ]).forClient({ username: '+', clientId: 'c' });
    expect(deny.mayRead('users/anyone/x')).toBe(false);
  });

  it.each([
    ['a/#', 'a', true],
    ['a/+', 'a/b/c', false],
    ['+/b/#', 'a/+/c', true],
    ['#', '$SYS/x', false],
    ['$SYS/#', '$SYS/+', true],
    ['a/b', 'a/c', false],
    ['a/+/c', 'a/b', false],
  ])('filtersIntersect(%s, %s) is %s', (a, b, expected) => {
    expect(filtersIntersect(a, b)).toBe(expected);
    expect(filtersIntersect(b, a)).toBe(expected);
  });
});

describe('ACL config', () => {
  it('defaults access to allow and refuses other values and malformed filters', () => {
    expect(parseBrokerConfig({ acl: [{ user: 'x', subscribe: ['a/#'] }] }).acl[0]).toEqual({
      user: 'x',
      access: 'allow',
      publish: [],
      subscribe: ['a/#'],
    });
    expect(() => parseBrokerConfig({ acl: [{ user: 'x', access: 'block' }] })).toThrow(
      /broker: \/acl\/0\/access: must be equal to one of the allowed values/,
    );
    expect(() => parseBrokerConfig({ acl: [{ user: 'x', subscribe: ['a/#/b'] }] })).toThrow(
      /broker: \/acl\/0\/subscribe\/0: must match pattern/,
    );
    expect(() => parseBrokerConfig({ acl: [{ user: 'x', access: 'deny', publish: ['a+'] }] })).toThrow(
      /broker: \/acl\/0\/publish\/0: must match pattern/,
    );
  });
});
