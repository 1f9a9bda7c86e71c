// One record per published tag: the publisher's policy state holds the newest sample, and
// LatestValues (the HTTP API's store) reads it there instead of keeping a copy of its own.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TagSample } from '../../drivers/types.js';
import { Broker } from '../../src/broker/broker.js';
import { parseBrokerConfig } from '../../src/broker/config.js';
import type { LoadedMapping, MappedTag } from '../../src/config/types.js';
import { mappedTag, mapping } from './fixtures.js';
import { LatestValues } from '../../src/http/latest-values.js';
import { silentLogger } from '../../src/log.js';
import { TagPublisher } from '../../src/mapping/publisher.js';

const tag = (name: string, over: Partial<MappedTag> = {}): MappedTag =>
  mappedTag(name, { policy: { kind: 'periodic', periodMs: 1000, minIntervalMs: 0 }, ...over });

let broker: Broker;
let publisher: TagPublisher;
let latest: LatestValues;
/** A publisher of `mappings` that `latest` reads the tags it keeps from, as the gateway wires them. */
const share = (mappings: LoadedMapping[]): void => {
  publisher = new TagPublisher({ gatewayId: 'g', mappings, broker, log: silentLogger() });
  latest.shareWith(publisher);
};
/** Hands a batch to both, as the gateway does. */
const feed = (device: string, batch: TagSample[]): void => {
  publisher.onSamples(device, batch);
  latest.onSamples(device, batch);
};

beforeEach(async () => {
  broker = new Broker({
    config: parseBrokerConfig({ listeners: [], sys: { intervalSec: 0 } }),
    log: silentLogger(),
  });
  await broker.start();
  latest = new LatestValues();
});
afterEach(async () => {
  publisher.stop();
  await broker.stop();
});

describe('the newest sample of a published tag is kept once', () => {
  it('LatestValues answers from the publisher, with no record of its own, and the driver object is not kept', () => {
    share([mapping([tag('a'), tag('b')])]);
    const a: TagSample = { tag: 'a', ts: 1, quality: 'good', value: 1.5 };
    feed('press1', [a, { tag: 'b', ts: 1, quality: 'bad', value: null, reason: 'timeout' }]);
    (a as { value: number }).value = 99; // a driver may reuse its objects
    expect(latest.ownRecords()).toBe(0);
    expect(latest.get('press1', 'a')).toEqual({ tag: 'a', ts: 1, quality: 'good', value: 1.5 });
    expect(latest.get('press1', 'b')).toMatchObject({
      tag: 'b',
      quality: 'bad',
      value: null,
      reason: 'timeout',
    });
    feed('press1', [{ tag: 'b', ts: 2, quality: 'good', value: 7 }]);
    expect(latest.get('press1', 'b')).toEqual({ tag: 'b', ts: 2, quality: 'good', value: 7 }); // no stale reason
    expect(latest.get('press1', 'c')).toBeUndefined();
    expect(latest.sampleCounts().get('press1')).toBe(3);
  });

  it('hands out a copy holding only the sample, not the policy state it is kept in', () => {
    share([mapping([tag('a'), tag('b')])]);
    feed('press1', [
      { tag: 'a', ts: 1, quality: 'good', value: 1.5 },
      { tag: 'b', ts: 1, quality: 'uncertain', value: 3, reason: 'stale' },
    ]);
    const first = latest.get('press1', 'a');
    expect(JSON.parse(JSON.stringify(first))).toEqual({ tag: 'a', ts: 1, quality: 'good', value: 1.5 });
    expect(latest.get('press1', 'b')).toEqual({
      tag: 'b',
      ts: 1,
      quality: 'uncertain',
      value: 3,
      reason: 'stale',
    });
    feed('press1', [{ tag: 'a', ts: 2, quality: 'bad', value: null, reason: 'timeout' }]);
    expect(first).toEqual({ tag: 'a', ts: 1, quality: 'good', value: 1.5 }); // not overwritten
    expect(latest.get('press1', 'a')).toEqual({
      tag: 'a',
      ts: 2,
      quality: 'bad',
      value: null,
      reason: 'timeout',
    });
  });

  it('tags the publisher does not keep (other devices, json-device snapshots) get records of their own', () => {
    share([
      mapping([tag('a')]),
      mapping([tag('s')], { device: 'oven1', topic: 'acme/oven1', format: 'json-device' }),
    ]);
    feed('press1', [
      { tag: 'a', ts: 1, quality: 'good', value: 1 },
      { tag: 'x', ts: 1, quality: 'good', value: 2 },
    ]);
    feed('oven1', [{ tag: 's', ts: 3, quality: 'good', value: 3 }]);
    feed('pump9', [{ tag: 'p', ts: 4, quality: 'good', value: 4 }]);
    expect(latest.ownRecords()).toBe(3);
    expect(latest.get('press1', 'x')).toMatchObject({ value: 2 });
    expect(latest.get('oven1', 's')).toMatchObject({ ts: 3, value: 3 });
    expect(latest.get('pump9', 'p')).toMatchObject({ value: 4 });
  });

  it('a tag whose mapping changes keeps its newest sample until the next one arrives', () => {
    share([mapping([tag('a')])]);
    feed('press1', [{ tag: 'a', ts: 1, quality: 'good', value: 21.5 }]);
    publisher.update([mapping([tag('a', { decimals: 0 })])]);
    expect(latest.get('press1', 'a')).toMatchObject({ ts: 1, value: 21.5 });
    publisher.update([mapping([tag('z')])]);
    expect(latest.get('press1', 'a')).toBeUndefined();
  });
});
