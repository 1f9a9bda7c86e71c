// The Modbus driver for one device (one unit id): plans its reads, polls them per poll group,
// turns replies into TagSample batches, writes with read-back, and reports its status.
import type * as api from '../types.js';
import type { ModbusDeviceConfig } from './config.js';
import { planPollGroups, planReads, type PlannedRead, type PollGroup } from './planner.js';
import { isFailed, samplesOf, type ReadReply } from './reply.js';
import { PollScheduler } from './scheduler.js';
import { resolveTag, type ResolvedTag } from './tag.js';
import type { LinkListener, LinkState, ModbusLink, Priority } from './transport/link.js';
import { acquireLink } from './transport/registry.js';
import { Unit, type Outcome } from './unit.js';
import { writeTag } from './write.js';

const STATUS_INTERVAL_MS = 1000;

export class ModbusDriver implements api.Driver, LinkListener {
  readonly deviceId: string;
  private readonly tags = new Map<string, ResolvedTag>();
  readonly groups: PollGroup[];
  private readonly scheduler: PollScheduler;
  private link?: ModbusLink;
  private release?: () => Promise<void>;
  private unit?: Unit;
  private state: LinkState = 'stopped';
  private since = Date.now();
  private overruns = 0;
  private disconnectReported = false;
  private lastStatusAt = 0;
  private readonly inFlightScans = new Set<Promise<void>>();

  constructor(
    private readonly device: ModbusDeviceConfig,
    tags: readonly api.TagConfig[],
    private readonly ctx: api.DriverContext,
  ) {
    this.deviceId = device.id;
    const problems: string[] = [];
    for (const tag of tags) {
      const resolved = resolveTag(tag, device);
      if (Array.isArray(resolved))
        problems.push(...resolved.map((p) => `tag ${tag.name}${p.pointer}: ${p.message}`));
      else this.tags.set(tag.name, resolved);
    }
    if (problems.length > 0) throw new Error(`modbus device ${device.id}: ${problems.join('; ')}`);
    this.groups = planPollGroups([...this.tags.values()], device.limits);
    this.scheduler = new PollScheduler(
      this.groups,
      (index) => this.trackScan(this.scan(this.groups[index] as PollGroup)),
      () => {
        this.overruns++;
      },
    );
  }

  async start(): Promise<void> {
    // The gateway hands us a logger already bound to this device: binding it again repeats the key.
    const log = this.ctx.log;
    this.state = 'connecting';
    const { link, release } = acquireLink(this.device.transport, this.device, this, log);
    this.link = link;
    this.release = release;
    this.unit = new Unit(link, this.device, (slow) => {
      log.warn(
        { unitId: this.device.unitId },
        slow ? 'unit not answering: slow retry schedule' : 'unit answers again',
      );
      this.emitStatus(true);
    });
    this.unit.onRoundTrip = (rttMs) => this.ctx.onRoundTrip?.(rttMs);
    if (link.state === 'connected') this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.scheduler.stop();
    if (this.unit) this.unit.stopped = true;
    this.state = 'stopped';
    // A clean stop carries no error: what the unit last refused belongs to the run that ended.
    if (this.unit) this.unit.lastError = undefined;
    await this.release?.();
    await Promise.allSettled([...this.inFlightScans]);
    this.emitStatus(true);
  }

  onState(state: LinkState, error?: string): void {
    if (this.state === 'stopped') return;
    this.state = state;
    this.since = Date.now();
    // Polls run only while connected; each connection starts the schedule afresh, so the first
    // poll comes right away rather than a whole period after the connection is up.
    if (state === 'connected') {
      this.disconnectReported = false;
      if (this.unit) this.scheduler.start();
    } else this.scheduler.stop();
    if (state === 'disconnected' && !this.disconnectReported) {
      // Once per outage, not once per poll: subscribers see the loss, and the broker is not flooded.
      this.disconnectReported = true;
      const ts = Date.now();
      const batch: api.TagSample[] = [...this.tags.values()].map((tag) => ({
        tag: tag.name,
        ts,
        quality: 'bad',
        value: null,
        reason: 'disconnected',
      }));
      if (batch.length > 0) this.ctx.onSamples(batch);
    }
    if (error !== undefined && this.unit) this.unit.lastError = error;
    this.emitStatus(true);
  }

  async read(names: readonly string[]): Promise<api.TagSample[]> {
    const known: ResolvedTag[] = [];
    const samples: api.TagSample[] = [];
    for (const name of names) {
      const tag = this.tags.get(name);
      if (tag) known.push(tag);
      else
        samples.push({
          tag: name,
          ts: Date.now(),
          quality: 'bad',
          value: null,
          reason: `unknown tag ${name}`,
        });
    }
    for (const read of planReads(known, this.device.limits))
      samplesOf(await this.runRead(read, 'high'), samples);
    return samples;
  }

  write(name: string, value: api.TagValue): Promise<api.WriteResult> {
    const tag = this.tags.get(name);
    const refused = (error: string): Promise<api.WriteResult> =>
      Promise.resolve({ ok: false, error, outcome: 'refused' });
    if (!tag) return refused(`unknown tag ${name} on ${this.deviceId}`);
    if (!tag.writable) return refused(`tag ${name} is not writable`);
    if (!this.unit || this.state !== 'connected') return refused(`device ${this.deviceId} is ${this.state}`);
    return writeTag(this.unit, this.device, tag, value).catch((err: unknown) => ({
      ok: false as const,
      error: err instanceof Error ? err.message : String(err),
    }));
  }

  status(): api.DeviceStatus {
    const counters = this.unit?.counters;
    const linkCounters = this.link?.counters;
    const status: api.DeviceStatus = {
      deviceId: this.deviceId,
      state: this.state,
      since: this.since,
      requests: counters?.requests ?? 0,
      errors: counters?.errors ?? 0,
      timeouts: counters?.timeouts ?? 0,
      overruns: this.overruns,
      counters: {
        exceptions: counters?.exceptions ?? 0,
        retries: counters?.retries ?? 0,
        slowRetry: this.unit?.slow ? 1 : 0,
        garbage: linkCounters?.garbage ?? 0,
        crcErrors: linkCounters?.crcErrors ?? 0,
        lateReplies: linkCounters?.lateReplies ?? 0,
        reconnects: linkCounters?.reconnects ?? 0,
        peakInFlight: linkCounters?.peakInFlight ?? 0,
        queued: this.link?.queued ?? 0,
        requestsPerScan: this.groups.reduce((n, g) => n + g.reads.length, 0),
      },
    };
    if (this.unit?.lastError !== undefined) status.lastError = this.unit.lastError;
    if (counters && counters.answered > 0) {
      status.rttMsAvg = counters.rttMsTotal / counters.answered;
      status.rttMsMax = counters.rttMsMax;
    }
    return status;
  }

  private trackScan(scan: Promise<void>): Promise<void> {
    this.inFlightScans.add(scan);
    return scan.finally(() => this.inFlightScans.delete(scan));
  }

  /** One scan of a poll group: every read queued at once, one batch of samples when all are back. */
  private async scan(group: PollGroup): Promise<void> {
    const unit = this.unit;
    if (!unit || this.state !== 'connected' || !unit.mayPoll(performance.now())) return;
    let failed = false;
    const cancelled = () => failed || this.state !== 'connected';
    const slow = unit.slow;
    // Replies, not samples, until the scan ends: see reply.ts.
    const results: ReadReply[][] = [];
    const timedOut = (replies: readonly ReadReply[]) =>
      replies.some((r) => isFailed(r) && r.reason === 'timeout');
    if (slow) {
      // A probe: reads go one by one and the scan stops at the first that gets no answer.
      for (const read of [...group.reads]) {
        const replies = await this.runRead(read, 'normal', cancelled, group);
        if (timedOut(replies)) failed = true;
        results.push(replies);
      }
    } else {
      results.push(
        ...(await Promise.all(
          group.reads.map(async (read) => {
            const replies = await this.runRead(read, 'normal', cancelled, group);
            if (timedOut(replies)) failed = true;
            return replies;
          }),
        )),
      );
    }
    // Disconnected reads say nothing: the outage was reported once, by onState.
    const batch = samplesOf(results.flat(), [], 'disconnected');
    if (batch.length > 0 && (this.state as LinkState) !== 'stopped') this.ctx.onSamples(batch);
    this.emitStatus(false);
  }

  private async runRead(
    read: PlannedRead,
    priority: Priority,
    cancelled?: () => boolean,
    group?: PollGroup,
  ): Promise<ReadReply[]> {
    const unit = this.unit;
    const outcome: Outcome = unit
      ? await unit.execute(
          { fc: read.fc, address: read.address, quantity: read.quantity },
          priority,
          cancelled,
        )
      : { kind: 'failed', reason: 'disconnected', cause: 'disconnected' };
    const ts = Date.now();
    if (
      outcome.kind === 'failed' &&
      outcome.cause === 'exception' &&
      read.tags.length > 1 &&
      /exception [23]\b/.test(outcome.reason)
    ) {
      return this.splitRead(read, priority, cancelled, group);
    }
    if (outcome.kind !== 'data')
      return [{ read, ts, reason: outcome.kind === 'failed' ? outcome.reason : 'unexpected reply' }];
    return [{ read, ts, data: outcome.data }];
  }

  /**
   * A merged read refused with exception 2 or 3 usually spans an address the device does not have
   * (a gap) or more than it serves at once: read its tags without gaps, then one by one, and keep
   * the smaller reads in the plan so later scans do not fail the same way.
   */
  private async splitRead(
    read: PlannedRead,
    priority: Priority,
    cancelled: (() => boolean) | undefined,
    group: PollGroup | undefined,
  ): Promise<ReadReply[]> {
    let parts = planReads(read.tags, { ...this.device.limits, maxGapRegisters: 0, maxGapBits: 0 });
    if (parts.length === 1)
      parts = read.tags.map((tag) => planReads([tag], this.device.limits)[0] as PlannedRead);
    if (group) {
      const at = group.reads.indexOf(read);
      if (at >= 0) group.reads.splice(at, 1, ...parts);
      // Expected with gaps in a device's map and handled: the plan keeps the smaller reads.
      this.ctx.log.debug({ address: read.address, parts: parts.length }, 'modbus read refused; split');
    }
    const replies = await Promise.all(parts.map((part) => this.runRead(part, priority, cancelled, group)));
    return replies.flat();
  }

  private emitStatus(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastStatusAt < STATUS_INTERVAL_MS) return;
    this.lastStatusAt = now;
    this.ctx.onStatus(this.status());
  }
}
