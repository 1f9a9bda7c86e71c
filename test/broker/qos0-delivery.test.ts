// QoS 0 deliveries to a live subscriber go out without an Outgoing record of their own, QoS 1 ones
// with it: a tick mixing both, with sizes from 0 bytes to 70 KB, must still arrive whole and in the
// order it was published. And what `keepable` copies before a message is queued or retained.
import { describe, expect, it } from 'vitest';
import type { BrokerMessage } from '../../src/broker/api.js';
import { keepable, type RoutedMessage } from '../../src/broker/message.js';
import { connectCollecting, routedMessage, subscribe, useBroker, waitForCount } from './helpers.js';

const tb = useBroker();

/** Payload `i` of a batch: sizes from 0 bytes to 70 KB. */
function payloadOf(i: number): Buffer {
  const size = i % 97 === 0 ? 70_000 + i : i % 13 === 0 ? 3000 + i : i % 7;
  return Buffer.alloc(size, String.fromCharCode(97 + (i % 26)));
}

describe('QoS 0 deliveries sent at once', () => {
  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}: a tick of mixed sizes and QoS arrives whole and in order`, async () => {
      const { client, got } = await connectCollecting(tb.url, {
        protocolVersion,
        clientId: `wb-${protocolVersion}`,
      });
      await subscribe(client, 'wb/#', { qos: 1 });
      const batch: BrokerMessage[] = [];
      for (let i = 0; i < 3000; i++) {
        // Every 50th at QoS 1: through the in-flight window, between the QoS 0 ones.
        batch.push({
          topic: `wb/t${i % 10}/${i}`,
          payload: payloadOf(i),
          qos: i % 50 === 0 ? 1 : 0,
          retain: false,
        });
      }
      tb.broker.publishBatch(batch);
      await waitForCount(got, batch.length, `${batch.length} messages`, 30_000);
      expect(got.map((m) => m.topic)).toEqual(batch.map((m) => m.topic));
      for (let i = 0; i < batch.length; i++) {
        expect(got[i]!.payload.length).toBe(batch[i]!.payload.length);
        expect(got[i]!.payload).toBe(batch[i]!.payload.toString());
        expect(got[i]!.qos).toBe(batch[i]!.qos);
      }
    });
  }

  it('MQTT 5: a message with properties keeps them, beside plain ones in the same tick', async () => {
    const { client, got } = await connectCollecting(tb.url, { protocolVersion: 5, clientId: 'wb-props' });
    await subscribe(client, 'wbp/#', { qos: 0 });
    tb.broker.publishBatch([
      { topic: 'wbp/a', payload: Buffer.from('1'), qos: 0, retain: false },
      {
        topic: 'wbp/b',
        payload: Buffer.from('2'),
        qos: 0,
        retain: false,
        properties: { contentType: 'text/plain' },
      },
      { topic: 'wbp/c', payload: Buffer.from('3'), qos: 0, retain: false },
    ]);
    await waitForCount(got, 3);
    expect(got.map((m) => [m.topic, m.payload, m.properties?.contentType])).toEqual([
      ['wbp/a', '1', undefined],
      ['wbp/b', '2', 'text/plain'],
      ['wbp/c', '3', undefined],
    ]);
  });

  it('MQTT 5: a plain message larger than the client accepts is dropped, the next ones arrive', async () => {
    const { client, got } = await connectCollecting(tb.url, {
      protocolVersion: 5,
      clientId: 'wb-max',
      properties: { maximumPacketSize: 200 },
    });
    await subscribe(client, 'wbm/#', { qos: 0 });
    const dropped = tb.broker.stats().messagesDropped;
    tb.broker.publishBatch([
      { topic: 'wbm/big', payload: Buffer.alloc(500, 'x'), qos: 0, retain: false },
      { topic: 'wbm/small', payload: Buffer.from('ok'), qos: 0, retain: false },
    ]);
    await waitForCount(got, 1);
    expect(got.map((m) => m.topic)).toEqual(['wbm/small']);
    expect(tb.broker.stats().messagesDropped).toBe(dropped + 1);
  });
});

describe('keepable', () => {
  const routed = (payload: Buffer): RoutedMessage => routedMessage('t', payload);

  it('copies a small payload out of a large read buffer, keeps one in a slice of the buffer pool', () => {
    const readBuffer = Buffer.alloc(64 * 1024);
    const fromSocket = routed(readBuffer.subarray(100, 150));
    expect(keepable(fromSocket).payload.buffer).not.toBe(readBuffer.buffer);
    expect(fromSocket.payload.length).toBe(50);
    const pooled = Buffer.from('{"value":1}');
    expect(pooled.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize);
    expect(keepable(routed(pooled)).payload).toBe(pooled);
  });
});
