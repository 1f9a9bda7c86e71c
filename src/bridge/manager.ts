// All bridges of a gateway: built from config.bridges by the gateway, started and stopped with it.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { NotStoredError, type LocalBroker } from '../broker/api.js';
import type { Logger } from '../log.js';
import { Database } from '../store/db.js';
import { migrateOutbox } from './outbox/outbox.js';
import { Bridge } from './bridge.js';
import { checkBridges, type BridgeConfig } from './config.js';
import type { BridgeStatus } from './status.js';

export type { BridgeStatus } from './status.js';
export { checkBridges } from './config.js';

export interface BridgeManagerOptions {
  bridges: readonly BridgeConfig[];
  gatewayId: string;
  broker: LocalBroker;
  log: Logger;
  dataDir: string;
}

/**
 * While bridges restart (a config reload), refuses client publishes on the `out` filters of
 * `bridges` instead of acknowledging them: no bridge is subscribed meanwhile, so an acknowledged
 * message would be stored nowhere. A refused QoS 1/2 publish is not acknowledged (MQTT 5: a
 * negative acknowledgement) and the client sends it again. Returns the release.
 */
export function refuseWhileRestarting(broker: LocalBroker, bridges: readonly BridgeConfig[]): () => void {
  const refused = Promise.reject(new NotStoredError('storage', 'the bridges are restarting'));
  refused.catch(() => undefined);
  const filters = new Set(bridges.flatMap((b) => b.out.map((rule) => rule.filter)));
  const unsubscribers = [...filters].map((filter) => broker.subscribeDurable(filter, () => refused));
  return () => {
    for (const unsubscribe of unsubscribers) unsubscribe();
  };
}

/** The outboxes' database file, in the data directory. */
export const OUTBOX_FILE = 'outbox.db';

export class BridgeManager {
  private readonly bridges: Bridge[];
  private outboxDb: Database | undefined;
  private started = false;

  constructor(private readonly opts: BridgeManagerOptions) {
    const problems = checkBridges(opts.bridges);
    if (problems.length > 0) throw new Error(problems.join('\n'));
    const ctx = { gatewayId: opts.gatewayId, broker: opts.broker, db: () => this.outboxDb!, log: opts.log };
    this.bridges = opts.bridges.map((cfg) => new Bridge(cfg, ctx));
  }

  /**
   * Opens the outboxes (resuming any backlog) and subscribes locally; upstreams connect in the
   * background. The outboxes get their own SQLite file and connection: a queue that may hold a
   * million rows churns apart from the broker's state, and its autocommitted group writes never
   * land inside another component's open transaction on a shared connection.
   */
  async start(): Promise<void> {
    if (this.started || this.bridges.length === 0) return;
    this.started = true;
    try {
      mkdirSync(this.opts.dataDir, { recursive: true });
      this.outboxDb = await Database.open(path.join(this.opts.dataDir, OUTBOX_FILE));
      await migrateOutbox(this.outboxDb);
    } catch (err) {
      this.started = false;
      await this.outboxDb?.close().catch(() => undefined);
      this.outboxDb = undefined;
      throw new Error(`bridge outbox: ${(err as Error).message}`, { cause: err });
    }
    const results = await Promise.allSettled(this.bridges.map((b) => b.start()));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [`bridge ${this.bridges[i]!.cfg.name}: ${String(r.reason)}`] : [],
    );
    if (failed.length > 0) {
      await this.stop();
      throw new Error(failed.join('\n'));
    }
  }

  /** Commits everything taken, waits briefly for acknowledgements, disconnects. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await Promise.all(this.bridges.map((b) => b.stop()));
    await this.outboxDb?.close();
    this.outboxDb = undefined;
  }

  status(): BridgeStatus[] {
    return this.bridges.map((b) => b.status());
  }
}
