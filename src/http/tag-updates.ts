// The values /api/events has yet to send, newest per tag, and their `tags` event as JSON text. Each
// tag's `{"device":...,"name":...` is prepared once per loaded config, and pending values are kept
// per device by tag name: at 10,000 updates a second per open console, no key string and no object
// per value, and no generic serialisation.
import type { TagSample } from '../../drivers/types.js';
import type { LoadedMapping } from '../config/types.js';
import { sampleJson } from './sample-json.js';

/** Per device, per tag name: `{"device":...,"name":...` without the closing brace. */
type Prefixes = Map<string, Map<string, string>>;

const prefixesByConfig = new WeakMap<readonly LoadedMapping[], Prefixes>();

function prefixOf(device: string, name: string): string {
  return `{"device":${JSON.stringify(device)},"name":${JSON.stringify(name)}`;
}

function prefixesOf(mappings: readonly LoadedMapping[]): Prefixes {
  let prefixes = prefixesByConfig.get(mappings);
  if (prefixes) return prefixes;
  prefixes = new Map();
  for (const mapping of mappings) {
    let tags = prefixes.get(mapping.device);
    if (!tags) prefixes.set(mapping.device, (tags = new Map()));
    for (const tag of mapping.tags) tags.set(tag.name, prefixOf(mapping.device, tag.name));
  }
  prefixesByConfig.set(mappings, prefixes);
  return prefixes;
}

export class PendingTagUpdates {
  /** Per device, per tag name, the newest sample not yet sent. */
  private readonly pending = new Map<string, Map<string, TagSample>>();
  private count = 0;

  /** `mappings` gives the config in force: it changes on a reload. */
  constructor(private readonly mappings: () => readonly LoadedMapping[]) {}

  get size(): number {
    return this.count;
  }

  add(device: string, batch: readonly TagSample[]): void {
    let tags = this.pending.get(device);
    if (!tags) this.pending.set(device, (tags = new Map()));
    const before = tags.size;
    for (const sample of batch) tags.set(sample.tag, sample);
    this.count += tags.size - before;
  }

  /** Every mapped tag's latest value (those that have one). */
  addAll(latest: (device: string, tag: string) => TagSample | undefined): void {
    for (const mapping of this.mappings()) {
      const batch: TagSample[] = [];
      for (const tag of mapping.tags) {
        const sample = latest(mapping.device, tag.name);
        if (sample) batch.push(sample);
      }
      this.add(mapping.device, batch);
    }
  }

  /** Up to `max` pending values, device by device, as the JSON array of a `tags` event. */
  take(max = Infinity): string {
    const prefixes = prefixesOf(this.mappings());
    const parts: string[] = [];
    for (const [device, tags] of this.pending) {
      const known = prefixes.get(device);
      for (const [name, sample] of tags) {
        if (parts.length >= max) break;
        // A tag the config does not map (a batch from before a reload) gets its prefix made here.
        parts.push(sampleJson(known?.get(name) ?? prefixOf(device, name), sample));
        tags.delete(name);
      }
    }
    this.count -= parts.length;
    return `[${parts.join(',')}]`;
  }
}
