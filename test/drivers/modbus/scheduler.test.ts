// The poll scheduler: ticks on absolute slots (no drift), one scan per group at a time, and an
// overrun counted instead of a queued scan.
import { describe, expect, it } from 'vitest';
import { PollScheduler } from '../../../drivers/modbus/scheduler.js';
import { sleep } from '../../helpers/net.js';

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
    await sleep(1500);
    scheduler.stop();
    expect(maxRunning).toBe(1);
    expect(overruns).toBeGreaterThan(0);
    // Each scan starts at (or late after) its own slot k * period; the slots only go forward.
    const slots = starts.map((t) => Math.floor((t + 5) / period));
    for (let i = 1; i < slots.length; i++) expect(slots[i]).toBeGreaterThan(slots[i - 1]!);
    // No drift: lateness does not accumulate, it is measured from the slot, not the previous scan.
    const lateness = starts.map((t, i) => t - slots[i]! * period);
    const median = [...lateness].sort((a, b) => a - b)[Math.floor(lateness.length / 2)]!;
    expect(median).toBeLessThan(period);
  });

  it('staggers the first polls of several groups', async () => {
    const first: number[] = [];
    const t0 = performance.now();
    const scheduler = new PollScheduler(
      [{ periodMs: 3000 }, { periodMs: 3000 }, { periodMs: 3000 }],
      async () => {
        if (first.length < 3) first.push(performance.now() - t0);
      },
      () => {},
    );
    scheduler.start();
    await sleep(2600);
    scheduler.stop();
    // Planned one third of a period apart (1000 ms); generous bounds for a loaded machine.
    expect(first).toHaveLength(3);
    expect(first[1]! - first[0]!).toBeGreaterThan(500);
    expect(first[2]! - first[1]!).toBeGreaterThan(500);
  });
});
