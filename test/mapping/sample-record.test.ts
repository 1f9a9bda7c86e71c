import { describe, expect, it } from 'vitest';
import type { TagSample } from '../../drivers/types.js';
import { LatestValues } from '../../src/http/latest-values.js';
import { dueOnTick, markPublished, newPolicyState, onSample } from '../../src/mapping/policy.js';
import { keepSample } from '../../src/mapping/sample-record.js';

const periodic = { kind: 'periodic', periodMs: 1000, minIntervalMs: 0 } as const;

describe('latest samples kept as records, not the drivers objects', () => {
  it('keepSample copies each sample into one record, reason only while not good', () => {
    const bad: TagSample = { tag: 't', ts: 1, quality: 'bad', value: null, reason: 'timeout' };
    const record = keepSample(undefined, bad);
    expect(record).not.toBe(bad);
    expect(record).toMatchObject({ tag: 't', ts: 1, quality: 'bad', value: null, reason: 'timeout' });
    const good: TagSample = { tag: 't', ts: 2, quality: 'good', value: 21.5 };
    expect(keepSample(record, good)).toBe(record);
    expect(record).toMatchObject({ ts: 2, quality: 'good', value: 21.5 });
    expect(JSON.parse(JSON.stringify(record))).toEqual({ tag: 't', ts: 2, quality: 'good', value: 21.5 });
  });

  it('a periodic tag publishes the newest value even though the driver object is not kept', () => {
    const state = newPolicyState(periodic);
    const first: TagSample = { tag: 't', ts: 1, quality: 'good', value: 1 };
    expect(onSample(state, first, 0)).toBe('publish');
    markPublished(state, first, 0);
    const second: TagSample = { tag: 't', ts: 2, quality: 'good', value: 2 };
    expect(onSample(state, second, 500)).toBe('skip');
    // The driver may reuse or change its object: what is due stays the value it sent.
    (second as { value: number }).value = 99;
    expect(dueOnTick(state, 1000)).toMatchObject({ ts: 2, value: 2, quality: 'good' });
  });

  it('LatestValues answers the newest sample of each tag', () => {
    const latest = new LatestValues();
    latest.onSamples('d', [
      { tag: 'a', ts: 1, quality: 'good', value: 1 },
      { tag: 'b', ts: 1, quality: 'uncertain', value: 5, reason: 'stale' },
    ]);
    latest.onSamples('d', [{ tag: 'b', ts: 2, quality: 'good', value: 6 }]);
    expect(latest.get('d', 'a')).toMatchObject({ ts: 1, value: 1, quality: 'good' });
    expect(latest.get('d', 'b')).toMatchObject({ ts: 2, value: 6, quality: 'good', reason: undefined });
    expect(latest.get('d', 'c')).toBeUndefined();
  });
});
