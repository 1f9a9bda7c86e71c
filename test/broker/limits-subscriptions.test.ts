// The subscription limit per client (limits.maxSubscriptionsPerClient), and that what a client's
// subscriptions hold (trie nodes, cached matches, its session) goes when a clean client goes.
import type { ISubackPacket } from 'mqtt-packet';
import { expect, it } from 'vitest';
import type { BrokerCore } from '../../src/broker/core.js';
import {
  brokersPerTest,
  connect,
  connectPacket,
  packet,
  parsePackets,
  rawSocket,
  type RawClient,
  type TestBroker,
} from './helpers.js';
import { waitFor } from '../helpers/net.js';

const { start } = brokersPerTest();
const broker = (limits: Record<string, unknown> = {}): Promise<TestBroker> => start({ limits });

const core = (b: TestBroker): BrokerCore => (b.broker as unknown as { core: BrokerCore }).core;

async function raw(
  b: TestBroker,
  version: 4 | 5,
  clientId: string,
  options: Parameters<typeof connectPacket>[1] = {},
): Promise<RawClient> {
  const s = await rawSocket(b.port);
  s.write(connectPacket(clientId, { protocolVersion: version, ...options }));
  await waitFor(() => parsePackets(s.all(), version).length > 0, 10_000, 'CONNACK');
  return s;
}

let nextId = 1;
/** Sends one SUBSCRIBE and returns its SUBACK's codes. */
async function subscribeRaw(s: RawClient, version: 4 | 5, filters: string[]): Promise<number[]> {
  const messageId = nextId++;
  s.write(
    packet(
      { cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos: 1 })) },
      version,
    ),
  );
  const suback = await waitFor(
    () =>
      parsePackets(s.all(), version).find(
        (p): p is ISubackPacket => p.cmd === 'suback' && p.messageId === messageId,
      ),
    10_000,
    `SUBACK ${messageId}`,
  );
  return suback.granted as number[];
}

it.each([
  [5, '0x97', 0x97],
  [4, '0x80', 0x80],
] as const)('refuses subscriptions beyond the limit (v%i: SUBACK %s)', async (version, _code, refused) => {
  const b = await broker({ maxSubscriptionsPerClient: 3 });
  const s = await raw(b, version, `many-${version}`);
  expect(await subscribeRaw(s, version, ['a/1', 'a/2', 'a/3', 'a/4', 'a/5'])).toEqual([
    1,
    1,
    1,
    refused,
    refused,
  ]);
  // Replacing a subscription is not a new one; a new one still is refused.
  expect(await subscribeRaw(s, version, ['a/2', 'a/6'])).toEqual([1, refused]);
  // Room made by UNSUBSCRIBE can be used again.
  s.write(packet({ cmd: 'unsubscribe', messageId: 900, unsubscriptions: ['a/1'] }, version));
  expect(await subscribeRaw(s, version, ['a/7'])).toEqual([1]);
  // The refused filters carry nothing.
  b.broker.publish({ topic: 'a/5', payload: Buffer.from('no'), qos: 0, retain: false });
  b.broker.publish({ topic: 'a/7', payload: Buffer.from('yes'), qos: 0, retain: false });
  await waitFor(() => parsePackets(s.all(), version).some((p) => p.cmd === 'publish'), 10_000, 'a/7');
  const topics = parsePackets(s.all(), version).flatMap((p) => (p.cmd === 'publish' ? [p.topic] : []));
  expect(topics).toEqual(['a/7']);
  expect(core(b).router.size).toBe(3);
});

it('keeps a persistent session within the limit across a reconnect', async () => {
  const b = await broker({ maxSubscriptionsPerClient: 2 });
  const options = { clean: false, properties: { sessionExpiryInterval: 60 } };
  const first = await raw(b, 5, 'keeper', options);
  expect(await subscribeRaw(first, 5, ['k/1', 'k/2', 'k/3'])).toEqual([1, 1, 0x97]);
  first.write(packet({ cmd: 'disconnect' }, 5));
  await first.ended;
  const again = await raw(b, 5, 'keeper', options);
  expect(await subscribeRaw(again, 5, ['k/3', 'k/1'])).toEqual([0x97, 1]);
  expect(core(b).sessions.get('keeper')?.subscriptions.size).toBe(2);
});

it('frees the trie, the match cache and the session when a clean client goes', async () => {
  const b = await broker(); // the default limit: 1000
  const router = core(b).router;
  const baseline = router.footprint();
  const s = await raw(b, 5, 'hoarder');
  const filters = Array.from({ length: 1100 }, (_, i) => `plant/area${i % 10}/line${i}/+/value`);
  const granted: number[] = [];
  for (let i = 0; i < filters.length; i += 100)
    granted.push(...(await subscribeRaw(s, 5, filters.slice(i, i + 100))));
  expect(granted.filter((c) => c === 1)).toHaveLength(1000);
  expect(granted.filter((c) => c === 0x97)).toHaveLength(100);
  for (let i = 0; i < 20; i++)
    b.broker.publish({
      topic: `plant/area${i % 10}/line${i}/t/value`,
      payload: Buffer.from('v'),
      qos: 0,
      retain: false,
    });
  const held = router.footprint();
  expect(held.trieNodes).toBeGreaterThan(baseline.trieNodes + 1000);
  expect(held.cachedTopics).toBeGreaterThan(0);

  // Gone without DISCONNECT, as a crashed or hostile client would go.
  s.socket.destroy();
  await waitFor(() => core(b).sessions.size === 0, 10_000, 'the session to go');
  expect(router.footprint()).toEqual(baseline);
  expect(router.size).toBe(0);

  // And a client taken over by a clean one loses its subscriptions the same way.
  const first = await connect(b.url, { clientId: 'twice', protocolVersion: 5 });
  await first.subscribeAsync(filters.slice(0, 500), { qos: 0 });
  expect(router.size).toBe(500);
  await connect(b.url, { clientId: 'twice', protocolVersion: 5 });
  expect(router.footprint()).toEqual(baseline);
});
