// Replies kept until a scan ends, then decoded into samples (drivers/modbus/reply.ts).
import { describe, expect, it } from 'vitest';
import { planReads } from '../../../drivers/modbus/planner.js';
import { samplesOf, type ReadReply } from '../../../drivers/modbus/reply.js';
import { resolveTag, type ResolvedTag } from '../../../drivers/modbus/tag.js';
import { tag, tcpDevice } from './helpers.js';

const device = tcpDevice(502);
const resolved = (name: string, address: string, type: string, extra = {}): ResolvedTag => {
  const r = resolveTag(tag(name, address, type, extra), device);
  if (Array.isArray(r)) throw new Error(JSON.stringify(r));
  return r;
};
const limits = { maxRegisters: 125, maxGapRegisters: 10, maxBits: 2000, maxGapBits: 0 };

describe('samplesOf', () => {
  const [words, coils] = [
    planReads(
      [resolved('a', 'hr:0', 'uint16', { scale: 0.1 }), resolved('b', 'hr:1', 'float32')],
      limits,
    )[0]!,
    planReads([resolved('c', 'coil:4', 'bool')], limits)[0]!,
  ];
  const floatBytes = Buffer.alloc(4);
  floatBytes.writeFloatBE(21.5);
  const registers = Buffer.concat([Buffer.from([0x01, 0x2c]), floatBytes]);

  it('decodes every reply in order, each tag with the time its reply came', () => {
    const replies: ReadReply[] = [
      { read: words, ts: 10, data: registers },
      { read: coils, ts: 11, data: Uint8Array.from([1]) },
    ];
    expect(samplesOf(replies)).toEqual([
      { tag: 'a', ts: 10, quality: 'good', value: 30 },
      { tag: 'b', ts: 10, quality: 'good', value: 21.5 },
      { tag: 'c', ts: 11, quality: 'good', value: true },
    ]);
  });

  it('a failed reply makes every tag of its read bad with its reason; the skipped reason gives none', () => {
    const replies: ReadReply[] = [
      { read: words, ts: 10, reason: 'modbus exception 2' },
      { read: coils, ts: 11, reason: 'disconnected' },
    ];
    const out = samplesOf(replies, [], 'disconnected');
    expect(out).toEqual([
      { tag: 'a', ts: 10, quality: 'bad', value: null, reason: 'modbus exception 2' },
      { tag: 'b', ts: 10, quality: 'bad', value: null, reason: 'modbus exception 2' },
    ]);
    expect(samplesOf([replies[1]!])).toEqual([
      { tag: 'c', ts: 11, quality: 'bad', value: null, reason: 'disconnected' },
    ]);
  });

  it('appends to the array it is given', () => {
    const out = samplesOf(
      [{ read: coils, ts: 1, data: Uint8Array.from([0]) }],
      [{ tag: 'x', ts: 0, quality: 'good', value: 1 }],
    );
    expect(out.map((s) => [s.tag, s.value])).toEqual([
      ['x', 1],
      ['c', false],
    ]);
  });
});
