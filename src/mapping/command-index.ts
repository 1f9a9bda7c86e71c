// Where commands arrive: for every mapping, its tags' `/set` and `/get` topics and the device's
// `/set`, and the subscription filters that catch them (with `+` so unknown tags get an answer).
import type { LoadedMapping, MappedTag } from '../config/types.js';
import { RateWindow } from './rate-limit.js';
import { compileValueCheck, type ValueCheck } from './value-check.js';

export interface CommandTag {
  device: string;
  tag: MappedTag;
  /** Present for writable tags: the value schema, compiled once. */
  check?: ValueCheck;
  rate?: RateWindow;
}

export interface CommandDevice {
  device: string;
  topic: string;
  tags: Map<string, CommandTag>;
}

export type CommandAddress =
  | { kind: 'set' | 'get'; device: CommandDevice; tagName: string; target?: CommandTag }
  | { kind: 'device-set'; device: CommandDevice };

export class CommandIndex {
  readonly filters: string[] = [];
  private readonly byTagTopic = new Map<string, CommandTag>();
  private readonly byDeviceTopic = new Map<string, CommandDevice>();
  /** The device whose `{device topic}/+/...` filter a topic fell under, for unknown tags. */
  private readonly wildcardDevices = new Map<string, CommandDevice>();

  constructor(mappings: readonly LoadedMapping[], previous?: CommandIndex) {
    const filters = new Set<string>();
    for (const mapping of mappings) {
      let device = this.byDeviceTopic.get(mapping.topic);
      if (!device) {
        device = { device: mapping.device, topic: mapping.topic, tags: new Map() };
        this.byDeviceTopic.set(mapping.topic, device);
      }
      filters.add(`${mapping.topic}/set`);
      const underDevice = mapping.tags.every((t) => t.topic === `${mapping.topic}/${t.name}`);
      if (underDevice) {
        filters.add(`${mapping.topic}/+/set`);
        filters.add(`${mapping.topic}/+/get`);
        this.wildcardDevices.set(mapping.topic, device);
      }
      for (const tag of mapping.tags) {
        const kept = previous?.byTagTopic.get(tag.topic);
        const entry: CommandTag =
          kept && kept.device === mapping.device && JSON.stringify(kept.tag) === JSON.stringify(tag)
            ? kept
            : {
                device: mapping.device,
                tag,
                ...(tag.writable ? { check: compileValueCheck(tag) } : {}),
                ...(tag.rateLimit ? { rate: new RateWindow(tag.rateLimit) } : {}),
              };
        this.byTagTopic.set(tag.topic, entry);
        device.tags.set(tag.name, entry);
        if (!underDevice) {
          filters.add(`${tag.topic}/set`);
          filters.add(`${tag.topic}/get`);
        }
      }
    }
    this.filters.push(...filters);
  }

  /** What a command topic addresses, or undefined when it is none of ours. */
  resolve(topic: string): CommandAddress | undefined {
    const slash = topic.lastIndexOf('/');
    const verb = topic.slice(slash + 1);
    if (verb !== 'set' && verb !== 'get') return undefined;
    const base = topic.slice(0, slash);
    const target = this.byTagTopic.get(base);
    if (target) {
      const device = this.deviceOf(target);
      return { kind: verb, device, tagName: target.tag.name, target };
    }
    const device = this.byDeviceTopic.get(base);
    if (device && verb === 'set') return { kind: 'device-set', device };
    const parent = base.slice(0, base.lastIndexOf('/'));
    const wildcard = this.wildcardDevices.get(parent);
    if (wildcard) return { kind: verb, device: wildcard, tagName: base.slice(parent.length + 1) };
    return undefined;
  }

  private deviceOf(target: CommandTag): CommandDevice {
    for (const device of this.byDeviceTopic.values()) {
      if (device.device === target.device && device.tags.get(target.tag.name) === target) return device;
    }
    throw new Error(`internal: tag ${target.tag.name} has no device entry`);
  }
}
