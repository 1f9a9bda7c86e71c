// The poll scheduler: ticks on absolute slots (no drift), one scan per group at a time, and an
// overrun counted instead of a queued scan. On a fake clock, so the slots are exact whatever the
// load on the machine.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PollScheduler } from '../../../drivers/modbus/scheduler.js';
import { sleep } from '../../helpers/net.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('modbus poll scheduler', () => {
  it('keeps scans on slots of the period, without drift, and counts overruns', async () => {
    const period = 40;
    const starts: number[] = [];
    let running = 0;
    let maxRunning = 0;
    let overruns = 0;
    let scans = 0;
    const t0 = performance.now();
    const scheduler = new PollScheduler(
      [{ periodMs: period }],
      async () => {
        starts.push(performance.now() - t0);
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Every fourth scan takes two and a half periods.
        await sleep(++scans % 4 === 0 ? period * 2.5 : 2);
        running--;
      },
      () => overruns++,
    );
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1000);
    scheduler.stop();
    expect(maxRunning).toBe(1);
    // A long scan from slot 3 (120 ms) ends at 220: the ticks at 160 and 200 are overruns, skipped
    // rather than queued; the next scan starts on its own slot (240), not a period after the last.
    expect(starts).toEqual([
      0, 40, 80, 120, 240, 280, 320, 360, 480, 520, 560, 600, 720, 760, 800, 840, 960, 1000,
    ]);
    expect(overruns).toBe(8);
    // Nothing runs after stop.
    await vi.advanceTimersByTimeAsync(1000);
    expect(starts).toHaveLength(18);
  });

  it('staggers the first polls of several groups', async () => {
    const first: [group: number, at: number][] = [];
    const t0 = performance.now();
    const scheduler = new PollScheduler(
      [{ periodMs: 3000 }, { periodMs: 3000 }, { periodMs: 3000 }],
      async (group) => {
        if (first.length < 3) first.push([group, performance.now() - t0]);
      },
      () => {},
    );
    scheduler.start();
    await vi.advanceTimersByTimeAsync(2600);
    scheduler.stop();
    // One third of the period apart, in group order.
    expect(first).toEqual([
      [0, 0],
      [1, 1000],
      [2, 2000],
    ]);
  });
});
