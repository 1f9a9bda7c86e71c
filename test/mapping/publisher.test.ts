// TagPublisher against the real broker's in-process API (no listener needed): batching, update().
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TagSample } from '../../drivers/types.js';
import type { DeliveredMessage } from '../../src/broker/api.js';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import type { MappedTag } from '../../src/config/types.js';
import { mappedTag, mapping } from './fixtures.js';
import { silentLogger } from '../../src/log.js';
import { TagPublisher } from '../../src/mapping/publisher.js';

const tag = (name: string, over: Partial<MappedTag> = {}): MappedTag =>
  mappedTag(name, { retain: true, ...over });
const sample = (name: string, value: number): TagSample => ({ tag: name, ts: 1, quality: 'good', value });

let broker: Broker;
let seen: DeliveredMessage[];
let publisher: TagPublisher | undefined;
beforeEach(async () => {
  broker = new Broker({
    config: parseBrokerConfig({ listeners: [], sys: { intervalSec: 0 } }),
    log: silentLogger(),
  });
  await broker.start();
  seen = [];
  broker.subscribe('acme/#', (m) => seen.push(m));
});
afterEach(async () => {
  publisher?.stop();
  await broker.stop();
});

const topics = (): string[] =>
  seen.map(
    (m) =>
      `${m.topic}=${m.payload.length === 0 ? '(cleared)' : (JSON.parse(m.payload.toString()) as { value: unknown }).value}`,
  );

describe('TagPublisher', () => {
  it('publishes the samples of known tags of a known device, as the mapping component', () => {
    publisher = new TagPublisher({
      gatewayId: 'g',
      mappings: [mapping([tag('a'), tag('b')])],
      broker,
      log: silentLogger(),
    });
    publisher.onSamples('press1', [sample('a', 1), sample('b', 2), sample('zzz', 3)]);
    publisher.onSamples('other', [sample('a', 1)]);
    expect(topics()).toEqual(['acme/press1/a=1', 'acme/press1/b=2']);
    expect(seen[0]!.origin).toEqual({ kind: 'internal', component: 'mapping' });
    expect(seen[0]!.retain).toBe(true);
  });

  it('update: unchanged tags keep their state, changed ones start afresh, removed ones are cleared', () => {
    publisher = new TagPublisher({
      gatewayId: 'g',
      mappings: [mapping([tag('a'), tag('b'), tag('c')])],
      broker,
      log: silentLogger(),
    });
    publisher.onSamples('press1', [sample('a', 1), sample('b', 2), sample('c', 3)]);
    seen.length = 0;
    publisher.update([mapping([tag('a'), tag('b', { qos: 1 }), tag('d')])]);
    expect(topics()).toEqual(['acme/press1/c=(cleared)']);
    seen.length = 0;
    publisher.onSamples('press1', [sample('a', 1), sample('b', 2), sample('d', 4)]);
    // a: same value, state kept, nothing new; b: new config, published again; d: new.
    expect(topics()).toEqual(['acme/press1/b=2', 'acme/press1/d=4']);
  });

  it('update: a moved topic clears the old one; a json-device snapshot keeps its latest samples', () => {
    publisher = new TagPublisher({
      gatewayId: 'g',
      mappings: [
        mapping([tag('a')]),
        mapping([tag('s1'), tag('s2')], { format: 'json-device', topic: 'acme/snap' }),
      ],
      broker,
      log: silentLogger(),
    });
    publisher.onSamples('press1', [sample('a', 1), sample('s1', 10), sample('s2', 20)]);
    seen.length = 0;
    publisher.update([
      mapping([tag('a', { topic: 'acme/press1/moved/a' })]),
      mapping([tag('s1'), tag('s2')], { format: 'json-device', topic: 'acme/snap', fields: { v: 2 } }),
    ]);
    expect(seen.map((m) => [m.topic, m.payload.length])).toEqual([['acme/press1/a', 0]]);
    seen.length = 0;
    publisher.onSamples('press1', [sample('s1', 11)]);
    const snapshot = JSON.parse(seen.find((m) => m.topic === 'acme/snap')!.payload.toString()) as {
      tags: Record<string, { value: number }>;
      v: number;
    };
    expect(snapshot.tags.s1!.value).toBe(11);
    expect(snapshot.tags.s2!.value).toBe(20);
    expect(snapshot.v).toBe(2);
  });

  it('payloads keep each tag its own unit and decimals, also after a reload changes one', () => {
    const tags = [
      tag('a', { unit: 'degC', decimals: 1 }),
      tag('b', { unit: 'degC', decimals: 1 }),
      tag('c', { unit: 'bar' }),
      tag('d', { decimals: 0 }),
    ];
    publisher = new TagPublisher({ gatewayId: 'g', mappings: [mapping(tags)], broker, log: silentLogger() });
    const payloads = () => seen.map((m) => JSON.parse(m.payload.toString()) as Record<string, unknown>);
    const all = (v: number) => ['a', 'b', 'c', 'd'].map((n) => sample(n, v));
    publisher.onSamples('press1', all(1.26));
    expect(payloads().map((p) => [p.value, p.unit])).toEqual([
      [1.3, 'degC'],
      [1.3, 'degC'],
      [1.26, 'bar'],
      [1, undefined],
    ]);
    seen.length = 0;
    publisher.update([mapping([tags[0]!, tag('b', { unit: 'K', decimals: 2 }), tags[2]!, tags[3]!])]);
    publisher.onSamples('press1', all(2.345));
    expect(payloads().map((p) => [p.value, p.unit])).toEqual([
      [2.3, 'degC'],
      [2.35, 'K'],
      [2.345, 'bar'],
      [2, undefined],
    ]);
  });

  it('a batch and a periodic tick larger than one broker call publish every message, in order', async () => {
    const names = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    const periodic = { kind: 'periodic', periodMs: 50, minIntervalMs: 0 } as const;
    publisher = new TagPublisher({
      gatewayId: 'g',
      mappings: [
        mapping(names.map((n) => tag(n, { policy: periodic, unit: n === 't1' ? 'degC' : undefined }))),
      ],
      broker,
      log: silentLogger(),
    });
    publisher.onSamples(
      'press1',
      names.map((n, i) => sample(n, i)),
    );
    expect(topics()).toEqual(names.map((n, i) => `acme/press1/${n}=${i}`));
    // Tags with the same unit share their properties; another unit keeps its own.
    expect(seen[0]!.properties?.userProperties).toEqual({ device: 'press1' });
    expect(seen[1]!.properties?.userProperties).toEqual({ device: 'press1', unit: 'degC' });
    expect(seen[2]!.properties?.userProperties).toEqual({ device: 'press1' });
    seen.length = 0;
    const deadline = Date.now() + 10_000;
    while (seen.length < names.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(topics().slice(0, names.length)).toEqual(names.map((n, i) => `acme/press1/${n}=${i}`));
  });
});
