// Publish/subscribe between real MQTT.js clients, v3.1.1 and v5, at every QoS.
import { describe, expect, it } from 'vitest';
import { collect, connect, deliveredSoFar, subscribe, useBroker, waitForCount } from './helpers.js';
import { waitFor } from '../helpers/net.js';

const b = useBroker();

describe.each([4, 5] as const)('MQTT protocol version %i', (protocolVersion) => {
  it.each([0, 1, 2] as const)('delivers QoS %i publishes at min(publish, subscription) QoS', async (qos) => {
    const sub = await connect(b.url, { protocolVersion });
    const got = collect(sub);
    await subscribe(sub, `v${protocolVersion}/q${qos}/#`, { qos });
    const pub = await connect(b.url, { protocolVersion });
    for (const publishQos of [0, 1, 2] as const) {
      await pub.publishAsync(`v${protocolVersion}/q${qos}/from${publishQos}`, `m${publishQos}`, {
        qos: publishQos,
      });
    }
    await waitForCount(got, 3);
    expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      [`v${protocolVersion}/q${qos}/from0`, 'm0', 0],
      [`v${protocolVersion}/q${qos}/from1`, 'm1', Math.min(1, qos)],
      [`v${protocolVersion}/q${qos}/from2`, 'm2', Math.min(2, qos)],
    ]);
  });

  it('matches + and # wildcards and keeps $-topics out of first-level wildcards', async () => {
    const sub = await connect(b.url, { protocolVersion });
    const got = collect(sub);
    const root = `w${protocolVersion}`;
    await subscribe(sub, [`${root}/+/temp`, `${root}/line/#`], { qos: 1 });
    const hash = await connect(b.url, { protocolVersion });
    const hashGot = collect(hash);
    await subscribe(hash, ['#', '+/x'], { qos: 0 });
    const pub = await connect(b.url, { protocolVersion });
    await pub.publishAsync(`${root}/a/temp`, '1', { qos: 1 });
    await pub.publishAsync(`${root}/a/b/temp`, 'no', { qos: 1 });
    await pub.publishAsync(`$internal/${root}`, 'dollar', { qos: 1 });
    await pub.publishAsync(`${root}/line`, '2', { qos: 1 }); // '#' also matches the parent level
    await pub.publishAsync(`${root}/line/x/y`, '3', { qos: 1 });
    // Delivery is in order: once '3' is in, 'no' and 'dollar' (published before it) would be too.
    await waitForCount(got, 3);
    await waitFor(() => hashGot.some((m) => m.payload === '3'), 10_000, "'3' on #");
    expect(got.map((m) => m.payload)).toEqual(['1', '2', '3']);
    expect(hashGot.map((m) => m.payload)).not.toContain('dollar');
  });

  it('stops delivery after UNSUBSCRIBE', async () => {
    const sub = await connect(b.url, { protocolVersion });
    const got = collect(sub);
    const topic = `u${protocolVersion}/t`;
    await subscribe(sub, topic, { qos: 1 });
    const pub = await connect(b.url, { protocolVersion });
    await pub.publishAsync(topic, 'before', { qos: 1 });
    await waitForCount(got, 1);
    await sub.unsubscribeAsync(topic);
    await pub.publishAsync(topic, 'after', { qos: 1 });
    await deliveredSoFar(pub, sub, got);
    expect(got.map((m) => m.payload)).toEqual(['before']);
  });

  it('keeps per-topic order over a burst of QoS 1 larger than the in-flight window', async () => {
    const sub = await connect(b.url, { protocolVersion });
    const got = collect(sub);
    const topic = `order${protocolVersion}`;
    await subscribe(sub, topic, { qos: 1 });
    const pub = await connect(b.url, { protocolVersion });
    const n = 500;
    await Promise.all(Array.from({ length: n }, (_, i) => pub.publishAsync(topic, String(i), { qos: 1 })));
    await waitForCount(got, n);
    expect(got.map((m) => Number(m.payload))).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

it('delivers one copy to a client with overlapping subscriptions, at the highest QoS', async () => {
  const sub = await connect(b.url, { protocolVersion: 5 });
  const got = collect(sub);
  await subscribe(sub, 'ov/#', { qos: 0 });
  await subscribe(sub, 'ov/+', { qos: 2 });
  const pub = await connect(b.url);
  await pub.publishAsync('ov/a', 'x', { qos: 2 });
  await deliveredSoFar(pub, sub, got);
  expect(got).toHaveLength(1);
  expect(got[0]!.qos).toBe(2);
});
