// The reader that takes the lean publisher's acks off the upstream socket before MQTT.js: whatever
// way the bytes are cut into reads, our acks are taken once and everything else passes in order.
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { AckReader } from '../../src/bridge/ack-reader.js';

const v5 = (p: mqttPacket.Packet) => mqttPacket.generate(p, { protocolVersion: 5 });

describe('ack reader', () => {
  const ours = [
    v5({ cmd: 'puback', messageId: 1 }),
    v5({ cmd: 'puback', messageId: 7, reasonCode: 0x87, properties: { reasonString: 'no' } }),
    v5({ cmd: 'pubrec', messageId: 2 }),
    v5({ cmd: 'pubcomp', messageId: 2 }),
  ];
  const theirs = [
    v5({ cmd: 'puback', messageId: 61_440 }), // MQTT.js's own id
    v5({
      cmd: 'publish',
      topic: 'in/x',
      payload: Buffer.alloc(300, 1),
      qos: 1,
      messageId: 5,
      dup: false,
      retain: false,
    }),
    v5({ cmd: 'suback', messageId: 61_441, granted: [1] }),
    v5({ cmd: 'pingresp' }),
  ];
  // Interleaved: ours, theirs, ours...
  const stream = Buffer.concat([
    ours[0]!,
    theirs[0]!,
    ours[1]!,
    theirs[1]!,
    ours[2]!,
    theirs[2]!,
    ours[3]!,
    theirs[3]!,
  ]);
  const expectedAcks = [
    [0x40, 1, 0],
    [0x40, 7, 0x87],
    [0x50, 2, 0],
    [0x70, 2, 0],
  ];

  it('takes our acks and passes the rest through, in order, however the reads are cut', () => {
    for (let cut1 = 1; cut1 < stream.length; cut1 += 3) {
      for (const cut2 of [cut1 + 1, cut1 + 2, cut1 + 5, stream.length]) {
        const acks: number[][] = [];
        const reader = new AckReader(61_439, (type, id, code) => acks.push([type, id, code]));
        const passed: Buffer[] = [];
        for (const piece of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
          if (piece.length === 0) continue;
          const rest = reader.take(piece);
          if (rest) passed.push(rest);
        }
        // An ack cut by a read goes to MQTT.js instead (and is counted from there): either way once.
        const passedBytes = Buffer.concat(passed);
        const parsed: mqttPacket.Packet[] = [];
        const parser = mqttPacket.parser({ protocolVersion: 5 });
        parser.on('packet', (p) => parsed.push(p));
        parser.parse(passedBytes);
        const passedAcks = parsed
          .filter(
            (p) =>
              (p.cmd === 'puback' || p.cmd === 'pubrec' || p.cmd === 'pubcomp') && p.messageId! <= 61_439,
          )
          .map((p) => p.messageId);
        expect(acks.length + passedAcks.length).toBe(4);
        expect(
          parsed
            .filter((p) => !passedAcks.includes((p as { messageId?: number }).messageId))
            .map((p) => p.cmd),
        ).toEqual(['puback', 'publish', 'suback', 'pingresp']);
        for (const ack of acks) expect(expectedAcks).toContainEqual(ack);
      }
    }
  });

  it('passes a stream without our acks through untouched, one read or many', () => {
    const plain = Buffer.concat(theirs);
    const reader = new AckReader(61_439, () => {
      throw new Error('not ours');
    });
    expect(reader.take(plain)).toBe(plain);
    const bytes: Buffer[] = [];
    for (let i = 0; i < plain.length; i++) {
      const rest = reader.take(plain.subarray(i, i + 1));
      if (rest) bytes.push(rest);
    }
    expect(Buffer.concat(bytes)).toEqual(plain);
  });

  it('takes a whole read of acks without passing anything on', () => {
    const acks: number[] = [];
    const reader = new AckReader(61_439, (_t, id) => acks.push(id));
    expect(reader.take(Buffer.concat([ours[0]!, ours[1]!, ours[2]!]))).toBeUndefined();
    expect(acks).toEqual([1, 7, 2]);
  });
});
