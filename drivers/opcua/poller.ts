// Polling mode: tags that do not suit a subscription are read with the Read service every pollMs,
// one batched read per period group; a read that outlasts its period counts as an overrun.
import type { ClientSession } from 'node-opcua';
import type { TagSample } from '../types.js';
import type { TagPlan } from './plan.js';
import { readSamples, type RequestStats } from './reader.js';

export class TagPoller {
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    private readonly session: ClientSession,
    private readonly plans: readonly TagPlan[],
    private readonly maxPerCall: number,
    private readonly stats: RequestStats,
    private readonly deliver: (samples: TagSample[]) => void,
    private readonly onOverrun: () => void,
    /** False while the connection is being repaired: the tags are already bad/disconnected then. */
    private readonly connected: () => boolean,
  ) {}

  start(): void {
    const byPeriod = new Map<number, TagPlan[]>();
    for (const p of this.plans) byPeriod.set(p.pollMs, [...(byPeriod.get(p.pollMs) ?? []), p]);
    for (const [period, plans] of byPeriod) this.schedule(period, plans, 0);
  }

  private schedule(period: number, plans: TagPlan[], delay: number): void {
    if (this.stopped) return;
    const timer = setTimeout(async () => {
      this.timers = this.timers.filter((t) => t !== timer);
      const started = Date.now();
      if (this.connected()) {
        const samples = await readSamples(this.session, plans, this.maxPerCall, this.stats);
        if (this.stopped) return;
        this.deliver(samples);
      }
      const took = Date.now() - started;
      if (took > period) this.onOverrun();
      this.schedule(period, plans, Math.max(0, period - took));
    }, delay);
    this.timers.push(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}
