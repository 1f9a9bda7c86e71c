// TagPublisher: driver sample batches in, broker messages out. Applies each tag's publish policy,
// encodes the payload of its mapping's format and hands the whole batch to the broker in one call.
import type { JsonValue, TagSample } from '../../drivers/types.js';
import type { BrokerMessage, LocalBroker, MessageProperties, Origin } from '../broker/api.js';
import type { LoadedMapping, MappedTag } from '../config/types.js';
import type { Logger } from '../log.js';
import { snapshotPayload, tagEncoder, tagProperties, type TagEncoder } from './payload.js';
import {
  dueOnTick,
  keepLatest,
  copyOfLatest,
  latestSample,
  markPublished,
  onSample,
  PolicyState,
  tickNeededMs,
} from './policy.js';

const ORIGIN: Origin = { kind: 'internal', component: 'mapping' };
/**
 * The timer that runs time-based policies (periods, heartbeats, minimum intervals) ticks at a
 * tenth of the shortest period it serves, within these bounds: on time, never a busy loop.
 */
const TICK_MS = { max: 250, min: 10 } as const;
/**
 * Messages handed to the broker per call. A whole tick (10,000 messages at 100k tags) held until
 * the end lived through young-generation collections and was promoted, payload buffers and all;
 * a few hundred at a time die young.
 */
const CHUNK = 256;

/**
 * A tag's one record: its publish policy state with its newest sample (which `LatestValues` reads
 * too, see `latest`), its mapping and its encoder. One object a tag: an entry, a policy state and
 * a sample record (and another record in `LatestValues`) were four, 24 bytes of header each.
 */
class TagEntry extends PolicyState {
  constructor(
    readonly mapped: MappedTag,
    /** The mapping's format and fields the entry was made for: an unchanged tag keeps its state across updates. */
    readonly format: LoadedMapping['format'],
    readonly fields: Readonly<Record<string, JsonValue>>,
    readonly encode: TagEncoder,
    readonly properties: MessageProperties,
  ) {
    super(mapped.policy);
  }
}

interface Snapshot {
  mapping: LoadedMapping;
  names: ReadonlySet<string>;
  latest: Map<string, TagSample>;
  properties: MessageProperties;
}

interface DeviceEntry {
  tags: Map<string, TagEntry>;
  snapshots: Snapshot[];
}

export interface TagPublisherOptions {
  gatewayId: string;
  mappings: readonly LoadedMapping[];
  broker: LocalBroker;
  log: Logger;
}

/**
 * What a tag's publishing depends on, to tell an unchanged tag on reload. Computed when mappings
 * change, not kept: a digest per tag was 4.6 MB at 100k tags, the JSON itself 300 bytes a tag.
 */
function signatureOf(format: LoadedMapping['format'], fields: object, tag: MappedTag): string {
  return JSON.stringify([format, fields, tag]);
}

export class TagPublisher {
  private devices = new Map<string, DeviceEntry>();
  /** Tags whose policy needs the timer (heartbeat, periodic, minimum interval). */
  private timed: TagEntry[] = [];
  private timer?: NodeJS.Timeout;
  private readonly broker: LocalBroker;
  private readonly log: Logger;

  constructor(opts: TagPublisherOptions) {
    this.broker = opts.broker;
    this.log = opts.log;
    this.apply(opts.mappings, new Map());
  }

  /** Publishes what the policies let through, for one driver batch, in one broker call. */
  onSamples(deviceId: string, batch: readonly TagSample[]): void {
    this.publish(deviceId, batch, false);
  }

  /**
   * Publishes every sample now, whatever the policy (deadband, minimum interval): a command's
   * read-back, which its sender expects on the tag's topic before the command's result.
   */
  publishNow(deviceId: string, batch: readonly TagSample[]): void {
    this.publish(deviceId, batch, true);
  }

  /** The newest sample of a tag this publisher keeps (see `keeps`), or undefined before its first. */
  latest(deviceId: string, tag: string): TagSample | undefined {
    const entry = this.devices.get(deviceId)?.tags.get(tag);
    return entry && copyOfLatest(entry);
  }

  /**
   * The tags of a device whose newest sample this publisher keeps, given every batch of that
   * device: the `json` and `value` tags, not `json-device` snapshots. `LatestValues` reads these
   * here rather than keeping a second record of each.
   */
  keeps(deviceId: string): { has(tag: string): boolean } | undefined {
    return this.devices.get(deviceId)?.tags;
  }

  private publish(deviceId: string, batch: readonly TagSample[], force: boolean): void {
    const device = this.devices.get(deviceId);
    if (!device) return;
    const now = Date.now();
    let out: BrokerMessage[] = [];
    for (const sample of batch) {
      const entry = device.tags.get(sample.tag);
      if (entry === undefined) continue;
      if (onSample(entry, sample, now) !== 'publish' && !force) continue;
      markPublished(entry, sample, now);
      out.push(this.message(entry, sample));
      if (out.length === CHUNK) out = this.flush(out);
    }
    for (const snapshot of device.snapshots) {
      let touched = false;
      for (const sample of batch) {
        if (!snapshot.names.has(sample.tag)) continue;
        snapshot.latest.set(sample.tag, sample);
        touched = true;
      }
      if (touched) out.push(this.snapshotMessage(snapshot));
    }
    if (out.length > 0) this.broker.publishBatch(out, ORIGIN);
  }

  /**
   * Takes a new set of mappings: unchanged tags keep their state (no republish, no gap), removed
   * tags and tags whose topic moved have their retained message cleared.
   */
  update(mappings: readonly LoadedMapping[]): void {
    const previous = new Map<string, TagEntry>();
    const previousSnapshots: Snapshot[] = [];
    for (const [deviceId, device] of this.devices) {
      for (const [name, entry] of device.tags) previous.set(`${deviceId}\u0000${name}`, entry);
      previousSnapshots.push(...device.snapshots);
    }
    this.apply(mappings, previous, previousSnapshots);
    const live = new Set<string>();
    for (const device of this.devices.values()) {
      for (const entry of device.tags.values()) live.add(entry.mapped.topic);
      for (const s of device.snapshots) live.add(s.mapping.topic);
    }
    const clears: BrokerMessage[] = [];
    for (const entry of previous.values()) {
      if (entry.mapped.retain && !live.has(entry.mapped.topic))
        clears.push(clearRetained(entry.mapped.topic));
    }
    for (const s of previousSnapshots) {
      if (s.mapping.tags[0]?.retain && !live.has(s.mapping.topic))
        clears.push(clearRetained(s.mapping.topic));
    }
    if (clears.length > 0) this.broker.publishBatch(clears, ORIGIN);
    this.log.info({ devices: this.devices.size, cleared: clears.length }, 'mappings updated');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private apply(
    mappings: readonly LoadedMapping[],
    previous: ReadonlyMap<string, TagEntry>,
    previousSnapshots: readonly Snapshot[] = [],
  ): void {
    const devices = new Map<string, DeviceEntry>();
    const timed: TagEntry[] = [];
    // Tags of a device with the same unit and expiry share one (never mutated) properties object:
    // one per tag was two objects a tag, 7 MB at 100k tags.
    const sharedProperties = new Map<string, MessageProperties>();
    const propertiesOf = (tag: MappedTag, device: string): MessageProperties => {
      const key = JSON.stringify([device, tag.unit ?? null, tag.expirySec ?? null]);
      let properties = sharedProperties.get(key);
      if (!properties) sharedProperties.set(key, (properties = tagProperties(tag, device)));
      return properties;
    };
    let tickMs: number = TICK_MS.max;
    for (const mapping of mappings) {
      let device = devices.get(mapping.device);
      if (!device) devices.set(mapping.device, (device = { tags: new Map(), snapshots: [] }));
      if (mapping.format === 'json-device') {
        const first = mapping.tags[0];
        const names = new Set(mapping.tags.map((t) => t.name));
        // A snapshot that stays on its topic keeps the latest samples of the tags it still has.
        const before = previousSnapshots.find(
          (s) => s.mapping.device === mapping.device && s.mapping.topic === mapping.topic,
        );
        const latest = new Map([...(before?.latest ?? [])].filter(([name]) => names.has(name)));
        device.snapshots.push({
          mapping,
          names,
          latest,
          properties: first ? tagProperties({ ...first, unit: undefined }, mapping.device) : {},
        });
        continue;
      }
      // Tags of a mapping whose payloads differ only by value share one encoder: one closure and
      // its encoded tail per tag was 16 MB at 100k tags.
      const encoders = new Map<string, TagEncoder>();
      const encoderOf = (tag: MappedTag, format: Exclude<LoadedMapping['format'], 'json-device'>) => {
        const key = JSON.stringify([tag.decimals ?? null, tag.unit ?? null]);
        let encode = encoders.get(key);
        if (!encode) encoders.set(key, (encode = tagEncoder(format, tag, mapping.fields)));
        return encode;
      };
      for (const tag of mapping.tags) {
        const before = previous.get(`${mapping.device}\u0000${tag.name}`);
        const unchanged =
          before !== undefined &&
          signatureOf(before.format, before.fields, before.mapped) ===
            signatureOf(mapping.format, mapping.fields, tag);
        let entry: TagEntry;
        if (unchanged) entry = before;
        else {
          entry = new TagEntry(
            tag,
            mapping.format,
            mapping.fields,
            encoderOf(tag, mapping.format),
            propertiesOf(tag, mapping.device),
          );
          // A changed tag starts publishing afresh but keeps its newest sample for `latest`.
          const sample = before && latestSample(before);
          if (sample) keepLatest(entry, sample);
        }
        device.tags.set(tag.name, entry);
        const needed = tickNeededMs(tag.policy);
        if (needed !== undefined) {
          timed.push(entry);
          tickMs = Math.min(tickMs, Math.max(TICK_MS.min, Math.floor(needed / 10)));
        }
      }
    }
    this.devices = devices;
    this.timed = timed;
    this.stop();
    if (timed.length > 0) {
      this.timer = setInterval(() => this.tick(), tickMs);
      this.timer.unref();
    }
  }

  private tick(): void {
    const now = Date.now();
    let out: BrokerMessage[] = [];
    for (const entry of this.timed) {
      const sample = dueOnTick(entry, now);
      if (!sample) continue;
      markPublished(entry, sample, now);
      out.push(this.message(entry, sample));
      if (out.length === CHUNK) out = this.flush(out);
    }
    if (out.length > 0) this.broker.publishBatch(out, ORIGIN);
  }

  /** Hands `out` to the broker; returns a fresh array for the next messages. */
  private flush(out: BrokerMessage[]): BrokerMessage[] {
    this.broker.publishBatch(out, ORIGIN);
    return [];
  }

  private message(entry: TagEntry, sample: TagSample): BrokerMessage {
    const tag = entry.mapped;
    return {
      topic: tag.topic,
      payload: entry.encode(sample),
      qos: tag.qos,
      retain: tag.retain,
      properties: entry.properties,
    };
  }

  private snapshotMessage(snapshot: Snapshot): BrokerMessage {
    const first = snapshot.mapping.tags[0];
    return {
      topic: snapshot.mapping.topic,
      payload: snapshotPayload(snapshot.mapping, snapshot.latest),
      qos: first?.qos ?? 0,
      retain: first?.retain ?? false,
      properties: snapshot.properties,
    };
  }
}

function clearRetained(topic: string): BrokerMessage {
  return { topic, payload: Buffer.alloc(0), qos: 0, retain: true };
}

/** The mappings whose JSON topics are published (a Sparkplug-only mapping has `json: false`). */
export function jsonMappings(mappings: readonly LoadedMapping[]): LoadedMapping[] {
  return mappings.filter((m) => m.sparkplug?.json !== false);
}
