// MQTT 5 properties on the way up: the expiry counts down while a message waits in the outbox.
import { describe, expect, it } from 'vitest';
import { fromPublishProperties, toPublishProperties } from '../../src/bridge/publish.js';

describe('bridged message properties', () => {
  it('counts the expiry down by the time spent in the outbox, and refuses an expired message', () => {
    const props = {
      messageExpiryInterval: 60,
      contentType: 'application/json',
      correlationData: Buffer.from('c'),
    };
    expect(toPublishProperties(props, Date.now() - 10_500)).toEqual({
      messageExpiryInterval: 50,
      contentType: 'application/json',
      correlationData: Buffer.from('c'),
    });
    expect(toPublishProperties(props, Date.now() - 61_000)).toBe('expired');
    expect(toPublishProperties({ userProperties: { a: 'b' } }, 0)).toEqual({ userProperties: { a: 'b' } });
  });

  it('keeps only the properties that travel with a message', () => {
    expect(fromPublishProperties(undefined)).toBeUndefined();
    expect(fromPublishProperties({ topicAlias: 3 })).toBeUndefined();
    expect(
      fromPublishProperties({ responseTopic: 'r', topicAlias: 3, payloadFormatIndicator: true }),
    ).toEqual({
      responseTopic: 'r',
      payloadFormatIndicator: true,
    });
  });
});
