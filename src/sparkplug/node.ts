// One Sparkplug B edge node (Eclipse Sparkplug 3.0): its session on a link, births and deaths,
// DDATA by exception with aliases, `seq` and `bdSeq`, primary host awareness with historical data
// kept while the host (or the link) is away, rebirth on NCMD, and DCMD writes through the
// gateway's command checks.
import type { ConnectionState, TagSample } from '../../drivers/types.js';
import type { MappedTag } from '../config/types.js';
import type { Logger } from '../log.js';
import type { CommandResult } from '../mapping/command-result.js';
import { changedBeyondDeadband } from '../mapping/policy.js';
import type { UpstreamWill } from '../bridge/upstream.js';
import type { History, HistoryRecord } from './history.js';
import type { SparkplugLink } from './link.js';
import { birthProperties, commandValue, metricType, metricValue, QUALITY_CODE } from './metrics.js';
import { DataType, decodePayload, encodePayload, type DataTypeId, type Metric } from './payload.js';

export interface NodeDevice {
  /** Sparkplug device id. */
  deviceId: string;
  /** The tagwire device the tags come from. */
  source: string;
  tags: MappedTag[];
}

export interface NodeSpec {
  groupId: string;
  edgeNodeId: string;
  primaryHostId?: string;
  devices: NodeDevice[];
}

export interface EdgeNodeContext {
  link: SparkplugLink;
  history: History;
  /** The next bdSeq (0-255), remembered across restarts. */
  nextBdSeq(): number;
  /** Runs a write through the command router (checks, rate limit, audit); resolves with its result. */
  command(tag: MappedTag, value: unknown): Promise<CommandResult>;
  deviceState(source: string): ConnectionState | undefined;
  log: Logger;
}

interface MetricEntry {
  tag: MappedTag;
  device: NodeDevice;
  alias: number;
  type?: DataTypeId;
  latest?: TagSample;
  /** What the host last got (birth or data), for report by exception. */
  sent?: { value: TagSample['value']; quality: TagSample['quality'] };
}

const REBIRTH = 'Node Control/Rebirth';

export class EdgeNode {
  private seq = 0;
  private bdSeq = -1;
  /** Births sent in this session and the host there: data goes out at once. */
  private live = false;
  private birthing = false;
  private hostOnline: boolean;
  private readonly entries = new Map<string, Map<string, MetricEntry>>();
  private readonly byAlias = new Map<number, MetricEntry>();
  private readonly byDevice = new Map<string, NodeDevice>();
  private readonly born = new Set<string>();
  private readonly topics: { base: string; ncmd: string; dcmd: string; state?: string };

  constructor(
    readonly spec: NodeSpec,
    private readonly ctx: EdgeNodeContext,
  ) {
    this.hostOnline = spec.primaryHostId === undefined;
    const base = `spBv1.0/${spec.groupId}`;
    this.topics = {
      base,
      ncmd: `${base}/NCMD/${spec.edgeNodeId}`,
      dcmd: `${base}/DCMD/${spec.edgeNodeId}/+`,
      ...(spec.primaryHostId !== undefined ? { state: `spBv1.0/STATE/${spec.primaryHostId}` } : {}),
    };
    let alias = 1;
    for (const device of spec.devices) {
      this.byDevice.set(device.deviceId, device);
      const tags = this.entries.get(device.source) ?? new Map<string, MetricEntry>();
      for (const tag of device.tags) {
        const entry: MetricEntry = { tag, device, alias: alias++ };
        tags.set(tag.name, entry);
        this.byAlias.set(entry.alias, entry);
      }
      this.entries.set(device.source, tags);
    }
  }

  get key(): string {
    return `${this.spec.groupId}/${this.spec.edgeNodeId}`;
  }

  start(): void {
    this.ctx.link.start(
      {
        onOnline: () => this.onLinkOnline(),
        onOffline: () => this.goOffline('link'),
        onMessage: (topic, payload) => this.onMessage(topic, payload),
      },
      () => this.death(true),
    );
  }

  async stop(): Promise<void> {
    this.live = false;
    await this.ctx.link.stop(this.death(false));
  }

  /** Driver samples of one tagwire device: DDATA by exception, or history while not live. */
  onSamples(source: string, batch: readonly TagSample[]): void {
    const tags = this.entries.get(source);
    if (!tags) return;
    const changed = new Map<NodeDevice, MetricEntry[]>();
    for (const sample of batch) {
      const entry = tags.get(sample.tag);
      if (!entry) continue;
      entry.latest = sample;
      entry.type ??= metricType(entry.tag, sample);
      if (!this.isNews(entry, sample)) continue;
      entry.sent = { value: sample.value, quality: sample.quality };
      const list = changed.get(entry.device) ?? [];
      list.push(entry);
      changed.set(entry.device, list);
    }
    for (const [device, list] of changed) {
      if (!this.live) this.ctx.history.append(this.record(device, list));
      else if (this.born.has(device.deviceId))
        this.publishData(
          device,
          list.map((e) => this.metric(e, e.latest!, false)),
        );
      // A device born without values waits for its first samples: DBIRTH carries current values.
      else if (this.ctx.deviceState(device.source) === 'connected') this.birthDevice(device);
    }
  }

  onDeviceState(source: string, state: ConnectionState): void {
    if (!this.live) return;
    for (const device of this.spec.devices) {
      if (device.source !== source) continue;
      if (state === 'connected' && !this.born.has(device.deviceId) && this.hasValues(device))
        this.birthDevice(device);
      else if (state !== 'connected' && this.born.has(device.deviceId)) this.deathDevice(device);
    }
  }

  private hasValues(device: NodeDevice): boolean {
    const tags = this.entries.get(device.source)!;
    return device.tags.some((t) => tags.get(t.name)!.latest !== undefined);
  }

  private isNews(entry: MetricEntry, sample: TagSample): boolean {
    const last = entry.sent;
    if (!last || last.quality !== sample.quality) return true;
    const policy = entry.tag.policy;
    const deadband = policy.kind === 'change' ? policy.deadband : 0;
    const percent = policy.kind === 'change' ? policy.deadbandPercent : 0;
    return changedBeyondDeadband(last.value, sample.value, deadband, percent);
  }

  private onLinkOnline(): void {
    const filters = [this.topics.ncmd, this.topics.dcmd];
    if (this.topics.state) filters.push(this.topics.state);
    this.ctx.link.subscribe(filters);
    if (this.hostOnline) void this.birth();
  }

  private goOffline(why: 'link' | 'host'): void {
    this.live = false;
    this.born.clear();
    if (why === 'host')
      this.ctx.log.info(`sparkplug ${this.key}: primary host offline; keeping data as history`);
  }

  private onMessage(topic: string, payload: Buffer): void {
    try {
      if (topic === this.topics.state) this.onHostState(payload);
      else if (topic === this.topics.ncmd) this.onNodeCommand(payload);
      else if (topic.startsWith(`${this.topics.base}/DCMD/${this.spec.edgeNodeId}/`))
        this.onDeviceCommand(topic.slice(topic.lastIndexOf('/') + 1), payload);
    } catch (err) {
      this.ctx.log.warn(
        { topic, error: (err as Error).message },
        `sparkplug ${this.key}: bad message ignored`,
      );
    }
  }

  /** Sparkplug 3.0 `{"online": true, "timestamp": ...}`; 2.2's ONLINE/OFFLINE text too. */
  private onHostState(payload: Buffer): void {
    const text = payload.toString('utf8').trim();
    let online: boolean;
    if (text === 'ONLINE' || text === 'OFFLINE') online = text === 'ONLINE';
    else online = (JSON.parse(text) as { online?: unknown }).online === true;
    if (online === this.hostOnline) return;
    this.hostOnline = online;
    if (!online) this.goOffline('host');
    else if (this.ctx.link.online) void this.birth();
  }

  private onNodeCommand(payload: Buffer): void {
    const { metrics } = decodePayload(payload);
    if (
      metrics.some((m) => m.name === REBIRTH && m.value === true) &&
      this.ctx.link.online &&
      this.hostOnline
    ) {
      this.ctx.log.info(`sparkplug ${this.key}: rebirth requested`);
      void this.birth();
    }
  }

  private onDeviceCommand(deviceId: string, payload: Buffer): void {
    const device = this.byDevice.get(deviceId);
    if (!device) throw new Error(`DCMD for unknown device ${deviceId}`);
    for (const m of decodePayload(payload).metrics) {
      const entry: MetricEntry | undefined =
        m.alias !== undefined
          ? this.byAlias.get(m.alias)
          : m.name !== undefined
            ? this.entries.get(device.source)?.get(m.name)
            : undefined;
      if (!entry || entry.device !== device) {
        this.ctx.log.warn(
          { device: deviceId, metric: m.name ?? m.alias },
          `sparkplug ${this.key}: DCMD for an unknown metric`,
        );
        continue;
      }
      void this.ctx.command(entry.tag, commandValue(m.value)).then((result) => {
        if (!result.ok) {
          this.ctx.log.info(
            { device: deviceId, tag: entry.tag.name, error: result.error },
            `sparkplug ${this.key}: DCMD refused`,
          );
          return;
        }
        // The new value comes back in DDATA, whether or not the next poll has it yet.
        if (result.value !== undefined)
          this.onSamples(device.source, [
            {
              tag: entry.tag.name,
              ts: result.ts ?? Date.now(),
              quality: 'good',
              value: result.value as never,
            },
          ]);
      });
    }
  }

  /** NBIRTH, a DBIRTH per device (DDEATH after it for a device that is down), then the history. */
  private async birth(): Promise<void> {
    if (this.birthing) return;
    this.birthing = true;
    try {
      this.live = false;
      this.born.clear();
      this.seq = 0;
      const now = Date.now();
      const nodeMetrics: Metric[] = [
        { name: 'bdSeq', timestamp: now, datatype: DataType.UInt64, value: this.bdSeq },
        { name: REBIRTH, timestamp: now, datatype: DataType.Boolean, value: false },
      ];
      this.publish('NBIRTH', undefined, { timestamp: now, seq: this.nextSeq(), metrics: nodeMetrics });
      // A device with values is born (and declared dead at once when it is down now, so its
      // history can still be told); one without any waits for its first samples.
      for (const device of this.spec.devices) {
        if (!this.hasValues(device)) continue;
        this.birthDevice(device);
        if (this.ctx.deviceState(device.source) !== 'connected') this.deathDevice(device);
      }
      await this.sendHistory();
      this.live = this.ctx.link.online && this.hostOnline;
    } catch (err) {
      this.ctx.log.error({ err }, `sparkplug ${this.key}: birth failed`);
    } finally {
      this.birthing = false;
    }
  }

  private birthDevice(device: NodeDevice): void {
    const metrics: Metric[] = [];
    for (const tag of device.tags) {
      const entry = this.entries.get(device.source)!.get(tag.name)!;
      entry.type ??= metricType(tag, entry.latest);
      const sample = entry.latest;
      metrics.push({
        name: tag.name,
        alias: entry.alias,
        timestamp: sample?.ts ?? Date.now(),
        datatype: entry.type,
        value: sample ? metricValue(entry.type, sample.value) : null,
        properties: birthProperties(tag, sample?.quality),
      });
      if (sample) entry.sent = { value: sample.value, quality: sample.quality };
    }
    this.publish('DBIRTH', device.deviceId, { timestamp: Date.now(), seq: this.nextSeq(), metrics });
    this.born.add(device.deviceId);
  }

  private deathDevice(device: NodeDevice): void {
    this.publish('DDEATH', device.deviceId, { timestamp: Date.now(), seq: this.nextSeq(), metrics: [] });
    this.born.delete(device.deviceId);
  }

  /** What was kept while not live goes out as historical DDATA, in order, before anything new. */
  private async sendHistory(): Promise<void> {
    let sent = 0;
    let skipped = 0;
    await this.ctx.history.replay((record) => {
      const device = this.byDevice.get(record.device);
      if (!device || !this.born.has(device.deviceId)) {
        skipped++;
        return;
      }
      const metrics: Metric[] = [];
      for (const s of record.samples) {
        const entry = this.entries.get(device.source)?.get(s.tag);
        if (!entry) continue;
        const sample = { tag: s.tag, ts: s.ts, quality: s.quality, value: s.value } as TagSample;
        metrics.push(this.metric(entry, sample, true));
      }
      if (metrics.length > 0) this.publishData(device, metrics);
      sent++;
    });
    if (sent + skipped > 0)
      this.ctx.log.info({ sent, skipped }, `sparkplug ${this.key}: historical data sent`);
  }

  private metric(entry: MetricEntry, sample: TagSample, historical: boolean): Metric {
    const type = entry.type ?? metricType(entry.tag, sample);
    const metric: Metric = {
      alias: entry.alias,
      timestamp: sample.ts,
      datatype: type,
      value: sample.quality === 'bad' ? null : metricValue(type, sample.value),
    };
    if (historical) metric.isHistorical = true;
    // A quality other than good (or back to good) travels as the Quality property, as hosts expect.
    const previous = entry.sent?.quality;
    if (sample.quality !== 'good' || previous !== 'good')
      metric.properties = { Quality: { type: DataType.Int32, value: QUALITY_CODE[sample.quality] } };
    return metric;
  }

  private record(device: NodeDevice, entries: readonly MetricEntry[]): HistoryRecord {
    return {
      device: device.deviceId,
      samples: entries.map((e) => ({
        tag: e.tag.name,
        ts: e.latest!.ts,
        quality: e.latest!.quality,
        value: e.latest!.value,
      })),
    };
  }

  private publishData(device: NodeDevice, metrics: Metric[]): void {
    this.publish('DDATA', device.deviceId, { timestamp: Date.now(), seq: this.nextSeq(), metrics });
  }

  private publish(
    kind: 'NBIRTH' | 'DBIRTH' | 'DDATA' | 'DDEATH',
    deviceId: string | undefined,
    payload: Parameters<typeof encodePayload>[0],
  ): void {
    const topic = `${this.topics.base}/${kind}/${this.spec.edgeNodeId}${deviceId === undefined ? '' : `/${deviceId}`}`;
    this.ctx.link.publish(topic, encodePayload(payload), 0);
  }

  private nextSeq(): number {
    const seq = this.seq;
    this.seq = (this.seq + 1) % 256;
    return seq;
  }

  /** NDEATH; `next` takes a new bdSeq (a new connection's will), else the current one (a clean stop). */
  private death(next: boolean): UpstreamWill {
    if (next || this.bdSeq < 0) this.bdSeq = this.ctx.nextBdSeq();
    const payload = encodePayload({
      timestamp: Date.now(),
      metrics: [{ name: 'bdSeq', timestamp: Date.now(), datatype: DataType.UInt64, value: this.bdSeq }],
    });
    return { topic: `${this.topics.base}/NDEATH/${this.spec.edgeNodeId}`, payload, qos: 1, retain: false };
  }
}
