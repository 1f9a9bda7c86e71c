// Unit checks of the pure parts: topic rules, ACL filter coverage, the subscription trie, the
// fast-path reader against mqtt-packet, and payload compaction.
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { Packet } from '../../src/broker/codec.js';
import { encodePublish } from '../../src/broker/codec.js';
import { readFastPacket } from '../../src/broker/fast-path.js';
import { keepable, type RoutedMessage } from '../../src/broker/message.js';
import { SubscriptionTrie } from '../../src/broker/topics/trie.js';
import {
  filterCovers,
  topicFilterProblem,
  topicMatches,
  topicNameProblem,
} from '../../src/broker/topics/validate.js';

const limits = { maxTopicLength: 64, maxTopicLevels: 5 };

describe('topic rules', () => {
  it.each([
    ['a/b', null],
    ['', 'empty topic name'],
    ['a/+/b', 'wildcard'],
    ['a/#', 'wildcard'],
    ['a\u0000b', 'U+0000'],
    ['a\uFFFDb', null], // U+FFFD is a character like any other; invalid UTF-8 is caught as bytes
    ['a\uD800b', 'lone surrogate'],
    ['a\uDC00', 'lone surrogate'],
    ['a/\u{1F600}', null],
    ['a\u0001b', 'control character U+0001'],
    ['a\nb', 'control character U+000A'],
    ['a\u007Fb', 'control character U+007F'],
    ['a\u009Fb', 'control character U+009F'],
    ['a\u00A0b', null],
    ['a/b/c/d/e/f', 'more than 5 levels'],
    ['x'.repeat(65), 'longer than 64 bytes'],
  ])('topic name %j', (topic, problem) => {
    const found = topicNameProblem(topic, limits);
    if (problem === null) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it.each([
    ['a/+/c', null],
    ['#', null],
    ['+', null],
    ['a/#/c', "'#' must be a whole level and the last one"],
    ['a/b#', "'#' must be a whole level"],
    ['a/b+/c', "'+' must be a whole level"],
  ])('topic filter %j', (filter, problem) => {
    const found = topicFilterProblem(filter, limits);
    if (problem === null) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('matches like the spec says, $-topics included', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/+', 'a')).toBe(false);
    expect(topicMatches('+/+', '/x')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
  });

  it('knows when one filter lies inside another (ACL subscribe checks)', () => {
    expect(filterCovers('acme/#', 'acme/+/temp')).toBe(true);
    expect(filterCovers('acme/+/temp', 'acme/p1/temp')).toBe(true);
    expect(filterCovers('acme/+/temp', 'acme/#')).toBe(false);
    expect(filterCovers('acme/p1/#', 'acme/+/x')).toBe(false);
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(filterCovers('acme/#', 'acme')).toBe(true);
  });
});

describe('subscription trie', () => {
  it('finds exactly the matching filters and prunes on remove', () => {
    const trie = new SubscriptionTrie<string, string>();
    const filters = ['a/b/c', 'a/+/c', 'a/#', '#', '+/+/+', 'a/b', '$SYS/#', 'x/y'];
    for (const f of filters) trie.add(f, f, f);
    const hits = (topic: string) => {
      const found: string[] = [];
      trie.match(topic, (k) => found.push(k));
      return found.sort();
    };
    for (const topic of ['a/b/c', 'a', 'a/b', '$SYS/load', 'x/y', 'q/r/s/t']) {
      expect(hits(topic), topic).toEqual(filters.filter((f) => topicMatches(f, topic)).sort());
    }
    for (const f of filters) expect(trie.remove(f, f)).toBe(true);
    expect(trie.size).toBe(0);
    expect(trie.remove('a/#', 'a/#')).toBe(false);
    expect(hits('a/b/c')).toEqual([]);
  });
});

describe('fast path', () => {
  const read = (bytes: Buffer, version: 4 | 5): Packet | null => {
    let got: Packet | null = null;
    const next = readFastPacket(bytes, 0, version, 1 << 20, (p) => (got = p));
    if (next === -1) return null;
    expect(next).toBe(bytes.length);
    return got;
  };

  it.each([4, 5] as const)('reads PUBLISH and acks exactly as mqtt-packet does (v%i)', (version) => {
    const samples: Packet[] = [
      { cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false },
      {
        cmd: 'publish',
        topic: 'ü/€',
        payload: Buffer.alloc(300, 3),
        qos: 1,
        messageId: 513,
        retain: true,
        dup: true,
      },
      {
        cmd: 'publish',
        topic: 't',
        payload: Buffer.alloc(0),
        qos: 2,
        messageId: 65535,
        retain: false,
        dup: false,
      },
      { cmd: 'puback', messageId: 7 },
      { cmd: 'pubrec', messageId: 8 },
      { cmd: 'pubcomp', messageId: 9 },
      { cmd: 'puback', messageId: 10, reasonCode: 0x10 },
      { cmd: 'pingreq' },
    ];
    for (const sample of samples) {
      const bytes = mqttPacket.generate(sample, { protocolVersion: version });
      const parser = mqttPacket.parser({ protocolVersion: version });
      let reference: Packet | undefined;
      parser.on('packet', (p: Packet) => (reference = p));
      parser.parse(bytes);
      const fast = read(bytes, version);
      expect(fast, sample.cmd).not.toBeNull();
      const keys =
        sample.cmd === 'publish'
          ? (['cmd', 'topic', 'qos', 'retain', 'dup', 'messageId'] as const)
          : (['cmd', 'messageId'] as const);
      for (const key of keys) {
        expect((fast as unknown as Record<string, unknown>)[key], `${sample.cmd} ${key}`).toEqual(
          (reference as unknown as Record<string, unknown>)[key],
        );
      }
      if (sample.cmd === 'publish')
        expect(Buffer.compare((fast as { payload: Buffer }).payload, sample.payload as Buffer)).toBe(0);
    }
  });

  it('leaves PUBLISH with v5 properties, ack reason codes and others to mqtt-packet', () => {
    const withProps = mqttPacket.generate(
      {
        cmd: 'publish',
        topic: 'a',
        payload: Buffer.from('x'),
        qos: 0,
        retain: false,
        dup: false,
        properties: { contentType: 'x' },
      },
      { protocolVersion: 5 },
    );
    expect(read(withProps, 5)).toBeNull();
    expect(
      read(
        mqttPacket.generate(
          { cmd: 'puback', messageId: 1, reasonCode: 0x10, properties: { reasonString: 'x' } },
          { protocolVersion: 5 },
        ),
        5,
      ),
    ).toBeNull();
    expect(
      read(
        mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] }),
        4,
      ),
    ).toBeNull();
    expect(read(Buffer.from([0x36, 0x03, 0x00, 0x01, 0x61]), 4)).toBeNull(); // QoS 3
    expect(read(Buffer.from([0x30, 0x05, 0x00]), 4)).toBeNull(); // incomplete
  });

  it('encodes PUBLISH byte for byte like mqtt-packet', () => {
    for (const version of [4, 5] as const) {
      for (const qos of [0, 1, 2] as const) {
        const ours = encodePublish(
          'plant/p1/temp',
          Buffer.from('21.5'),
          qos,
          true,
          version,
          undefined,
          42,
        ).bytes;
        const theirs = mqttPacket.generate(
          {
            cmd: 'publish',
            topic: 'plant/p1/temp',
            payload: Buffer.from('21.5'),
            qos,
            retain: true,
            dup: false,
            messageId: qos ? 42 : undefined,
          },
          { protocolVersion: version },
        );
        expect(ours.equals(theirs), `v${version} qos ${qos}`).toBe(true);
      }
    }
  });
});

it('copies a payload that is a view into a larger read buffer before it is kept', () => {
  const readBuffer = Buffer.alloc(65536, 1);
  const msg: RoutedMessage = {
    topic: 't',
    payload: readBuffer.subarray(100, 110),
    qos: 1,
    retain: true,
    properties: undefined,
    origin: { kind: 'internal', component: 'test' },
    expiresAt: 0,
    publisher: null,
  };
  keepable(msg);
  expect(msg.payload.length).toBe(10);
  expect(msg.payload.buffer).not.toBe(readBuffer.buffer);
  expect(msg.payload.buffer.byteLength).toBeLessThan(65536);
});
