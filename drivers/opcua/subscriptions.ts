// A session's subscriptions: as many as the server's per-subscription item limit asks for, and a
// watchdog that rebuilds one gone silent (node-opcua's own repair does not notice a server that
// keeps the session but stops publishing).
import type { ClientSession } from 'node-opcua';
import type { DriverContext } from '../types.js';
import type { OpcuaDeviceConfig } from './config.js';
import { errorText } from './errors.js';
import type { TagPlan } from './plan.js';
import { TagSubscription, type SubscriptionEvents } from './subscription.js';

type Opcua = import('./load.js').OpcuaClientApi;

export interface SubscriptionSetEvents extends SubscriptionEvents {
  /** A silent subscription is being rebuilt. */
  rebuild(): void;
  /** Rebuilding failed: the session is no longer to be trusted. */
  rebuildFailed(err: Error): void;
  /** Whether the driver is connected: the watchdog leaves a repairing connection alone. */
  connected(): boolean;
}

export class SubscriptionSet {
  private subscriptions: TagSubscription[] = [];
  private watchdog?: NodeJS.Timeout;
  private rebuilding = false;
  private closed = false;

  constructor(
    private readonly opcua: Opcua,
    private readonly session: ClientSession,
    private readonly device: OpcuaDeviceConfig,
    private readonly maxPerCall: number,
    private readonly events: SubscriptionSetEvents,
    private readonly log: DriverContext['log'],
  ) {}

  /** Creates the subscriptions, `perSubscription` items each at most, then starts the watchdog. */
  async create(plans: readonly TagPlan[], perSubscription: number): Promise<void> {
    for (let i = 0; i < plans.length && !this.closed; i += perSubscription) {
      const sub = this.newSubscription(plans.slice(i, i + perSubscription));
      // Listed before it exists, so a close during its creation terminates it too.
      this.subscriptions.push(sub);
      await sub.create();
    }
    if (this.closed) return;
    const every = Math.max(500, Math.min(this.device.publishingIntervalMs, 5000));
    this.watchdog = setInterval(() => void this.check(), every);
    this.watchdog.unref();
  }

  /** The watchdog counts silence from now, not from before a repaired break. */
  touch(): void {
    for (const sub of this.subscriptions) sub.lastActivity = Date.now();
  }

  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    const subs = this.subscriptions;
    this.subscriptions = [];
    await Promise.all(subs.map((sub) => sub.terminate(timeoutMs)));
  }

  private newSubscription(plans: TagPlan[]): TagSubscription {
    return new TagSubscription(this.opcua, this.session, this.device, plans, this.maxPerCall, this.events);
  }

  private async check(): Promise<void> {
    if (this.closed || this.rebuilding || !this.events.connected()) return;
    const now = Date.now();
    const index = this.subscriptions.findIndex((sub) => now - sub.lastActivity > sub.silenceLimitMs);
    const sub = this.subscriptions[index];
    if (!sub) return;
    this.rebuilding = true;
    this.events.rebuild();
    this.log.warn(
      { silentMs: now - sub.lastActivity },
      'OPC UA subscription stopped delivering; rebuilding it',
    );
    try {
      await sub.terminate(this.device.requestTimeoutMs);
      if (this.closed) return;
      const fresh = this.newSubscription([...sub.plans]);
      this.subscriptions[index] = fresh;
      await fresh.create();
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'OPC UA subscription rebuild failed; reconnecting');
      this.events.rebuildFailed(new Error(`subscription rebuild failed: ${errorText(err)}`));
    } finally {
      this.rebuilding = false;
    }
  }
}
