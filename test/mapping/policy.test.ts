import { describe, expect, it } from 'vitest';
import type { TagSample, TagValue } from '../../drivers/types.js';
import type { PublishPolicy } from '../../src/config/types.js';
import {
  changedBeyondDeadband,
  dueOnTick,
  markPublished,
  newPolicyState,
  onSample,
} from '../../src/mapping/policy.js';

const good = (value: number, ts = 1): TagSample => ({ tag: 't', ts, quality: 'good', value });
const change = (over: Partial<Extract<PublishPolicy, { kind: 'change' }>> = {}): PublishPolicy => ({
  kind: 'change',
  deadband: 0,
  deadbandPercent: 0,
  heartbeatMs: 0,
  minIntervalMs: 0,
  ...over,
});

/** Feeds samples at the given times; returns the values published (by sample or by tick). */
function run(
  policy: PublishPolicy,
  events: Array<[number, number | 'tick' | 'bad']>,
): Array<[number, unknown]> {
  const state = newPolicyState(policy);
  const out: Array<[number, unknown]> = [];
  for (const [now, what] of events) {
    if (what === 'tick') {
      const due = dueOnTick(state, now);
      if (due) {
        markPublished(state, due, now);
        out.push([now, due.value]);
      }
      continue;
    }
    const sample: TagSample =
      what === 'bad'
        ? { tag: 't', ts: now, quality: 'bad', value: null, reason: 'timeout' }
        : good(what, now);
    if (onSample(state, sample, now) === 'publish') {
      markPublished(state, sample, now);
      out.push([now, sample.value]);
    }
  }
  return out;
}

describe('deadbands', () => {
  it('absolute: publishes only moves larger than the deadband', () => {
    expect(changedBeyondDeadband(10, 10.5, 0.5, 0)).toBe(false);
    expect(changedBeyondDeadband(10, 10.51, 0.5, 0)).toBe(true);
    expect(changedBeyondDeadband(10, 9.4, 0.5, 0)).toBe(true);
    expect(changedBeyondDeadband(10, 10, 0, 0)).toBe(false);
    expect(changedBeyondDeadband(10, 10.0001, 0, 0)).toBe(true);
  });
  it('percent: relative to the last published value', () => {
    expect(changedBeyondDeadband(200, 203, 0, 2)).toBe(false);
    expect(changedBeyondDeadband(200, 205, 0, 2)).toBe(true);
    expect(changedBeyondDeadband(-200, -205, 0, 2)).toBe(true);
  });
  it('non-numeric values publish on any change', () => {
    expect(changedBeyondDeadband(true, true, 1, 0)).toBe(false);
    expect(changedBeyondDeadband(true, false, 1, 0)).toBe(true);
    expect(changedBeyondDeadband([1, 2], [1, 2], 0, 0)).toBe(false);
    expect(changedBeyondDeadband([1, 2], [1, 3], 0, 0)).toBe(true);
    expect(changedBeyondDeadband(null, 1, 0, 0)).toBe(true);
  });
});

describe('publish policies', () => {
  it('on change: first sample, changes beyond the deadband, and every quality change', () => {
    const out = run(change({ deadband: 1 }), [
      [0, 10],
      [100, 10.5],
      [200, 11.5],
      [300, 'bad'],
      [400, 11.5],
      [500, 11.6],
    ]);
    expect(out).toEqual([
      [0, 10],
      [200, 11.5],
      [300, null],
      [400, 11.5],
    ]);
  });

  it('heartbeat: republishes the latest value after a quiet period', () => {
    const out = run(change({ deadband: 5, heartbeatMs: 1000 }), [
      [0, 10],
      [500, 11],
      [900, 'tick'],
      [1000, 'tick'],
      [1500, 'tick'],
      [2000, 'tick'],
    ]);
    expect(out).toEqual([
      [0, 10],
      [1000, 11],
      [2000, 11],
    ]);
  });

  it('minimum interval: holds a change and publishes the newest value when the interval ends', () => {
    const out = run(change({ minIntervalMs: 1000 }), [
      [0, 1],
      [100, 2],
      [200, 3],
      [500, 'tick'],
      [1000, 'tick'],
      [1100, 'tick'],
      [1200, 4],
      [1500, 'bad'],
    ]);
    expect(out).toEqual([
      [0, 1],
      [1000, 3],
      [1500, null],
    ]);
  });

  it('periodic: publishes every period, changed or not, keeping its phase', () => {
    const out = run({ kind: 'periodic', periodMs: 1000, minIntervalMs: 0 }, [
      [0, 1],
      [300, 2],
      [999, 'tick'],
      [1010, 'tick'],
      [1500, 3],
      [2000, 'tick'],
      [5100, 'tick'],
    ]);
    expect(out).toEqual([
      [0, 1],
      [1010, 2],
      [2000, 3],
      [5100, 3],
    ]);
  });
});

describe('the last published value, whatever its type', () => {
  it('compares against a number, then null, a boolean and a number again', () => {
    const state = newPolicyState(change({ deadband: 0.5 }));
    const at = (value: TagValue, quality: 'good' | 'bad' = 'good'): TagSample =>
      quality === 'good'
        ? { tag: 't', ts: 1, quality, value }
        : { tag: 't', ts: 1, quality, value: null, reason: 'timeout' };
    const feed = (sample: TagSample): string => {
      const decision = onSample(state, sample, 0);
      if (decision === 'publish') markPublished(state, sample, 0);
      return decision;
    };
    expect(feed(at(10))).toBe('publish');
    expect(feed(at(10.4))).toBe('skip');
    expect(feed(at(0, 'bad'))).toBe('publish');
    expect(feed(at(10, 'good'))).toBe('publish');
    expect(feed(at(true))).toBe('publish');
    expect(feed(at(true))).toBe('skip');
    expect(feed(at(0))).toBe('publish');
    expect(feed(at(0.4))).toBe('skip');
    expect(feed(at(0.6))).toBe('publish');
    expect(feed(at([1, 2]))).toBe('publish');
    expect(feed(at([1, 2]))).toBe('skip');
    expect(feed(at(Number.NaN))).toBe('publish');
  });
});
