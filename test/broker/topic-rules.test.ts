// One set of topic rules (src/broker/topics/validate.ts) behind the broker, the config loader and
// the bridge: each words a problem its own way, but none accepts what the others refuse.
import { describe, expect, it } from 'vitest';
import { filterProblem } from '../../src/bridge/topics.js';
import { MQTT_TOPIC_LIMITS, topicFilterProblem, topicNameProblem } from '../../src/broker/topics/validate.js';
import { topicError } from '../../src/config/topics.js';

describe('topic rules', () => {
  it.each([
    ['a\u0000b', 'contains U+0000'],
    ['a\u0007b', 'contains control character U+0007'],
    ['a\uD800b', 'contains a lone surrogate'],
    ['x'.repeat(65536), 'longer than 65535 bytes'],
  ])('%j is refused everywhere, for the same reason', (topic, reason) => {
    expect(topicNameProblem(topic, MQTT_TOPIC_LIMITS)).toContain(reason);
    expect(topicFilterProblem(topic, MQTT_TOPIC_LIMITS)).toContain(reason);
    expect(topicError(topic)).toContain(reason);
    expect(filterProblem(topic)).toContain(reason);
  });

  it('a wildcard: in a filter where it belongs, never in a name', () => {
    expect(topicNameProblem('a/+', MQTT_TOPIC_LIMITS)).toBe('topic name contains a wildcard (+ or #)');
    expect(topicError('a/+')).toBe('topic "a/+" contains a wildcard (+ or #)');
    expect(topicFilterProblem('a/+/#', MQTT_TOPIC_LIMITS)).toBeUndefined();
    expect(filterProblem('a/+/#')).toBeUndefined();
  });

  it('a misplaced wildcard, in the broker and the bridge words', () => {
    expect(topicFilterProblem('a/#/b', MQTT_TOPIC_LIMITS)).toBe("'#' must be a whole level and the last one");
    expect(filterProblem('a/#/b')).toBe("'#' must be a whole last level in 'a/#/b'");
    expect(topicFilterProblem('a/b+', MQTT_TOPIC_LIMITS)).toBe("'+' must be a whole level");
    expect(filterProblem('a/b+')).toBe("'+' must be a whole level in 'a/b+'");
  });

  it('fine is undefined everywhere', () => {
    expect(topicNameProblem('plant/line1/temp', MQTT_TOPIC_LIMITS)).toBeUndefined();
    expect(topicError('plant/line1/temp')).toBeUndefined();
    expect(filterProblem('plant/#')).toBeUndefined();
  });
});
