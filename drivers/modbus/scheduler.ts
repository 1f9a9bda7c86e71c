// Poll groups on a monotonic schedule: ticks at start + offset + k * period (no drift from slow
// scans or timer lateness), first polls staggered across groups, and an overrun (a tick that finds
// the previous scan still running) counted and skipped, never queued.

export interface ScheduledGroup {
  periodMs: number;
}

export class PollScheduler {
  private readonly timers: (NodeJS.Timeout | undefined)[] = [];
  private readonly running: boolean[] = [];
  private stopped = true;

  constructor(
    private readonly groups: readonly ScheduledGroup[],
    private readonly scan: (group: number) => Promise<void>,
    private readonly onOverrun: (group: number) => void,
  ) {}

  /** Starts (or restarts, e.g. on reconnection) the schedule from now. */
  start(): void {
    this.stop();
    this.stopped = false;
    const start = performance.now();
    this.groups.forEach((group, index) => {
      // A scan still finishing from before a restart keeps its group busy until it ends.
      this.running[index] ??= false;
      // Spread first polls over each group's own period so groups do not all fire together.
      const base = start + (group.periodMs * index) / this.groups.length;
      this.arm(index, base, 0);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
  }

  private arm(index: number, base: number, slot: number): void {
    if (this.stopped) return;
    const at = base + slot * (this.groups[index] as ScheduledGroup).periodMs;
    this.timers[index] = setTimeout(() => this.tick(index, base, slot), Math.max(0, at - performance.now()));
  }

  private tick(index: number, base: number, slot: number): void {
    if (this.stopped) return;
    const period = (this.groups[index] as ScheduledGroup).periodMs;
    if (this.running[index]) this.onOverrun(index);
    else {
      this.running[index] = true;
      void this.scan(index).finally(() => {
        this.running[index] = false;
      });
    }
    // The next slot after both this one and now: a timer that fires a little early cannot fire
    // twice for one slot, and slots missed while the loop was busy are skipped, not replayed.
    const next = Math.max(slot + 1, Math.floor((performance.now() - base) / period) + 1);
    this.arm(index, base, next);
  }
}
