import { expect, it } from 'vitest';
import type { RoutedMessage } from '../../src/broker/message.js';
import { routedMessage } from './helpers.js';
import { Router } from '../../src/broker/router.js';
import { silentLogger } from '../../src/log.js';

const message = (topic: string): RoutedMessage => routedMessage(topic);

it('keeps the matches of a gateway-sized cycle of topics (50,000 tags) cached', () => {
  const router = new Router(silentLogger());
  const seen: string[] = [];
  router.add('plant/#', {}, { kind: 'local', handler: (m) => seen.push(m.topic) });
  for (let round = 0; round < 2; round++)
    for (let i = 0; i < 50_000; i++) router.route(message(`plant/d${i % 50}/t${i}`));
  expect(seen).toHaveLength(100_000);
  expect(router.footprint().cachedTopics).toBe(50_000);
  // Topics nobody subscribes to are cached too, and a subscription change empties the cache.
  router.route(message('other/x'));
  expect(router.footprint().cachedTopics).toBe(50_001);
  router.remove('plant/#', {});
  expect(router.footprint().cachedTopics).toBe(0);
});

it('bounds the cache by topic characters, so long random topics cannot fill memory', () => {
  const router = new Router(silentLogger());
  const long = 'x'.repeat(60_000);
  for (let i = 0; i < 400; i++) router.route(message(`${long}/${i}`));
  // 400 topics of 60k characters are 24M characters; the cache holds at most 8M of them.
  expect(router.footprint().cachedTopics).toBeLessThan(140);
  expect(router.footprint().cachedTopics).toBeGreaterThan(0);
});

it('topics with the same subscribers share one cached match list, and each still reaches exactly those', () => {
  const router = new Router(silentLogger());
  const all: string[] = [];
  const one: string[] = [];
  router.add('plant/#', {}, { kind: 'local', handler: (m) => all.push(m.topic) });
  router.add('plant/d1/+', {}, { kind: 'local', handler: (m) => one.push(m.topic) });
  for (let i = 0; i < 10_000; i++) router.route(message(`plant/d${i % 10}/t${i}`));
  router.route(message('other/x'));
  expect(router.footprint()).toMatchObject({ cachedTopics: 10_001, matchLists: 2 });
  expect(all).toHaveLength(10_000);
  expect(one).toHaveLength(1_000);
  expect(one.every((t) => t.startsWith('plant/d1/'))).toBe(true);
});
