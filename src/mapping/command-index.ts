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
  /** Every tag of the device's mappings, by name. */
  tags: Map<string, MappedTag>;
  /**
   * The command entries of writable or rate-limited tags (their value check and rate window live
   * as long as the tag). Other tags get an entry when a command names them: one object per tag
   * kept for commands that mostly never come was 5 MB at 100k tags.
   */
  commands: Map<string, CommandTag>;
}

/** The command entry of a device's tag, or undefined when the device has no such tag. */
export function commandTag(device: CommandDevice, name: string): CommandTag | undefined {
  const kept = device.commands.get(name);
  if (kept) return kept;
  const tag = device.tags.get(name);
  return tag && { device: device.device, tag };
}

export type CommandAddress =
  | { kind: 'set' | 'get'; device: CommandDevice; tagName: string; target?: CommandTag }
  | { kind: 'device-set'; device: CommandDevice };

export class CommandIndex {
  readonly filters: string[] = [];
  /**
   * Tags whose topic is not `{device topic}/{name}` (a mapping's own `tagTopic`), by topic. The
   * others are found through their device: a map of every tag topic was 3.5 MB at 100k tags.
   */
  private readonly byTagTopic = new Map<string, { device: CommandDevice; name: string }>();
  private readonly byDeviceTopic = new Map<string, CommandDevice>();
  /** The device whose `{device topic}/+/...` filter a topic fell under, for unknown tags. */
  private readonly wildcardDevices = new Map<string, CommandDevice>();

  constructor(mappings: readonly LoadedMapping[], previous?: CommandIndex) {
    const filters = new Set<string>();
    for (const mapping of mappings) {
      let device = this.byDeviceTopic.get(mapping.topic);
      if (!device) {
        device = { device: mapping.device, topic: mapping.topic, tags: new Map(), commands: new Map() };
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
        device.tags.set(tag.name, tag);
        if (tag.writable || tag.rateLimit) {
          const kept = previous?.byDeviceTopic.get(mapping.topic)?.commands.get(tag.name);
          const entry: CommandTag =
            kept && kept.device === mapping.device && JSON.stringify(kept.tag) === JSON.stringify(tag)
              ? kept
              : {
                  device: mapping.device,
                  tag,
                  ...(tag.writable ? { check: compileValueCheck(tag) } : {}),
                  ...(tag.rateLimit ? { rate: new RateWindow(tag.rateLimit) } : {}),
                };
          device.commands.set(tag.name, entry);
        }
        if (!underDevice) {
          this.byTagTopic.set(tag.topic, { device, name: tag.name });
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
    const named = this.byTagTopic.get(base);
    if (named) return this.tagAddress(verb, named.device, named.name);
    // A tag under its device's topic comes before a device whose own topic is the same.
    const parent = base.slice(0, base.lastIndexOf('/'));
    const wildcard = this.wildcardDevices.get(parent);
    const tagName = base.slice(parent.length + 1);
    if (wildcard?.tags.has(tagName)) return this.tagAddress(verb, wildcard, tagName);
    const device = this.byDeviceTopic.get(base);
    if (device && verb === 'set') return { kind: 'device-set', device };
    if (wildcard) return { kind: verb, device: wildcard, tagName };
    return undefined;
  }

  private tagAddress(verb: 'set' | 'get', device: CommandDevice, name: string): CommandAddress {
    return { kind: verb, device, tagName: name, target: commandTag(device, name) };
  }
}
