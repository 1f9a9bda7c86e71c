// FlushThrottle on fake timers: a change after a quiet period is flushed on the next turn, changes
// within a period wait for its end and go out together, and a flush that could not send tries
// again a period later.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FlushThrottle } from '../../src/http/flush-throttle.js';

const PERIOD = 250;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A throttle whose flushes are recorded at their fake time; `canSend` says whether one succeeds. */
function recorded(canSend: () => boolean = () => true) {
  const flushes: number[] = [];
  const start = performance.now();
  const throttle = new FlushThrottle(() => {
    if (!canSend()) return false;
    flushes.push(performance.now() - start);
    return true;
  }, PERIOD);
  return { throttle, flushes };
}

describe('FlushThrottle', () => {
  it('flushes a first change on the next turn, with the changes of the same turn', async () => {
    const { throttle, flushes } = recorded();
    throttle.changed();
    throttle.changed();
    expect(flushes).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toEqual([0]);
  });

  it('holds changes within a period until it ends, then flushes them once', async () => {
    const { throttle, flushes } = recorded();
    throttle.changed();
    await vi.advanceTimersByTimeAsync(100);
    throttle.changed();
    await vi.advanceTimersByTimeAsync(100);
    throttle.changed();
    await vi.advanceTimersByTimeAsync(49);
    expect(flushes).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushes).toEqual([0, PERIOD]);
    // After a quiet spell longer than a period, the next change goes out at once again.
    await vi.advanceTimersByTimeAsync(1000);
    throttle.changed();
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toEqual([0, PERIOD, 1250]);
  });

  it('tries again a period later when a flush could not send, and stops when cancelled', async () => {
    let writable = false;
    const { throttle, flushes } = recorded(() => writable);
    throttle.changed();
    await vi.advanceTimersByTimeAsync(PERIOD * 2);
    expect(flushes).toEqual([]);
    writable = true;
    await vi.advanceTimersByTimeAsync(PERIOD);
    expect(flushes).toEqual([PERIOD * 3]);

    throttle.changed();
    throttle.cancel();
    await vi.advanceTimersByTimeAsync(PERIOD * 4);
    expect(flushes).toEqual([PERIOD * 3]);
  });
});
