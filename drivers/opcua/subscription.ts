// One subscription per device: monitored items created in batches within the server's limits,
// notifications gathered into TagSample batches, and a record of the last sign of life for the watchdog.
import type { ClientSession, ClientSubscription, MonitoringParametersOptions } from 'node-opcua';
import type { OpcuaDeviceConfig } from './config.js';
import type { TagPlan } from './plan.js';
import { toSample, type DataValueLike } from './values.js';
import type { TagSample } from '../types.js';

type Opcua = import('./load.js').OpcuaClientApi;

/**
 * Values per publish response: a quarter of the subscription's items, at least 1000; the server sends
 * the rest at once on the next queued Publish requests (node-opcua keeps five in the pipeline, so a
 * whole round still goes out without waiting for a round trip). node-opcua decodes a whole response
 * into objects (DataValue, Variant, two Dates per value) before dispatching any: 10,000 values in one
 * response outlived several young-generation collections, were promoted, and grew the old space by
 * about 6 MB/s until a full GC (RSS 230-290 MB at 10,000 items every 100 ms). Smaller responses die
 * young and RSS stays flat.
 */
export const MIN_NOTIFICATIONS_PER_PUBLISH = 1000;
export function notificationsPerPublish(items: number): number {
  return Math.max(MIN_NOTIFICATIONS_PER_PUBLISH, Math.ceil(items / 4));
}

export interface SubscriptionEvents {
  samples(samples: TagSample[]): void;
  notifications(count: number): void;
  /** One CreateMonitoredItems call made (batches stay within the per-call limit). */
  monitorCall(items: number): void;
  /** One publish response with data received (at most notificationsPerPublish(items) values). */
  publishResponse(): void;
}

/** Tags with the same monitoring parameters go into one CreateMonitoredItems call (up to the limit). */
function parameterKey(p: TagPlan): string {
  return [
    p.samplingMs,
    p.queueSize,
    p.discardOldest,
    p.deadbandType,
    p.deadbandValue,
    p.dataChangeTrigger,
  ].join('|');
}

export class TagSubscription {
  private subscription?: ClientSubscription;
  /** Epoch ms of the last publish response (data or keep-alive). */
  lastActivity = Date.now();
  private closed = false;

  constructor(
    private readonly opcua: Opcua,
    private readonly session: ClientSession,
    private readonly device: OpcuaDeviceConfig,
    readonly plans: readonly TagPlan[],
    private readonly maxPerCall: number,
    private readonly events: SubscriptionEvents,
  ) {}

  /** The silence after which the watchdog rebuilds: several keep-alive periods. */
  get silenceLimitMs(): number {
    const sub = this.subscription;
    const interval = sub?.publishingInterval || this.device.publishingIntervalMs;
    const keepAlive = sub?.maxKeepAliveCount || this.device.keepAliveCount;
    // At least 5 s: a busy machine can stall a process for a second or two, and a rebuild is not free.
    return Math.max(5000, interval * keepAlive * this.device.watchdogFactor);
  }

  async create(): Promise<void> {
    const { opcua, device } = this;
    const keepAlive = device.keepAliveCount;
    const sub = await this.session.createSubscription2({
      requestedPublishingInterval: device.publishingIntervalMs,
      requestedMaxKeepAliveCount: keepAlive,
      requestedLifetimeCount: Math.max(
        keepAlive * 10,
        Math.ceil(device.sessionTimeoutMs / device.publishingIntervalMs),
      ),
      maxNotificationsPerPublish: notificationsPerPublish(this.plans.length),
      publishingEnabled: true,
      priority: 10,
    });
    this.subscription = sub;
    this.lastActivity = Date.now();
    const alive = () => {
      this.lastActivity = Date.now();
    };
    sub.on('keepalive', alive);
    sub.on('raw_notification', alive);
    sub.on('received_notifications', () => this.events.publishResponse());

    const groups = new Map<string, TagPlan[]>();
    for (const p of this.plans) {
      const key = parameterKey(p);
      const list = groups.get(key) ?? [];
      list.push(p);
      groups.set(key, list);
    }
    for (const plans of groups.values()) {
      const first = plans[0]!;
      const params: MonitoringParametersOptions = {
        samplingInterval: first.samplingMs,
        queueSize: first.queueSize,
        discardOldest: first.discardOldest,
        filter: new opcua.DataChangeFilter({
          trigger: opcua.DataChangeTrigger[first.dataChangeTrigger],
          deadbandType:
            first.deadbandType === 'absolute'
              ? opcua.DeadbandType.Absolute
              : first.deadbandType === 'percent'
                ? opcua.DeadbandType.Percent
                : opcua.DeadbandType.None,
          deadbandValue: first.deadbandValue,
        }),
      };
      for (let start = 0; start < plans.length && !this.closed; start += this.maxPerCall) {
        await this.monitorBatch(sub, plans.slice(start, start + this.maxPerCall), params);
      }
    }
  }

  private async monitorBatch(sub: ClientSubscription, batch: TagPlan[], params: MonitoringParametersOptions) {
    const { opcua } = this;
    const items = batch.map((p) => ({ nodeId: p.address, attributeId: opcua.AttributeIds.Value }));
    const group = await sub.monitorItems(items, params, opcua.TimestampsToReturn.Both);
    this.events.monitorCall(items.length);
    let pending: TagSample[] = [];
    let scheduled = false;
    // node-opcua emits one event per value of a publish response, synchronously: gather them all.
    const flush = () => {
      scheduled = false;
      const out = pending;
      pending = [];
      this.events.notifications(out.length);
      this.events.samples(out);
    };
    group.on('changed', (_item, dataValue, index) => {
      const plan = batch[index];
      if (!plan) return;
      pending.push(toSample(plan.name, dataValue as unknown as DataValueLike));
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
    // Items the server refused (unknown node, filter not allowed...) are bad with the server's reason.
    const refused: TagSample[] = [];
    group.monitoredItems.forEach((item, i) => {
      const status = item.statusCode;
      const plan = batch[i];
      if (plan && status && status.value !== 0) {
        refused.push({ tag: plan.name, ts: Date.now(), quality: 'bad', value: null, reason: status.name });
      }
    });
    if (refused.length > 0) this.events.samples(refused);
  }

  async terminate(timeoutMs: number): Promise<void> {
    this.closed = true;
    const sub = this.subscription;
    this.subscription = undefined;
    if (!sub) return;
    sub.removeAllListeners();
    await Promise.race([
      sub.terminate().catch(() => undefined),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }
}
