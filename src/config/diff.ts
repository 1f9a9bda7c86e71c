// What changed between two loaded configs, so a reload touches only what it must: drivers of
// changed devices, topics of changed tags; and whether a block changed that needs a restart.
import type { LoadedConfig } from './load.js';
import type { MappedTag } from './types.js';

export interface TagRef {
  device: string;
  tag: string;
}

export interface Changes<T> {
  added: T[];
  removed: T[];
  changed: T[];
}

export interface ConfigDiff {
  /**
   * Devices by id. `changed`: the device's own keys changed, or what its driver reads (tags,
   * addresses, types, poll periods...): its driver must be rebuilt. Publishing-only changes
   * (topic, qos, policy...) leave the driver alone.
   */
  devices: Changes<string>;
  /** Mappings by `file#device`. */
  mappings: Changes<string>;
  tags: Changes<TagRef>;
  /** Blocks that cannot change while running; any true one means a restart. */
  restart: { gateway: boolean; broker: boolean; bridges: boolean; http: boolean; simulators: boolean };
  restartNeeded: boolean;
  /** Nothing changed at all. */
  empty: boolean;
}

/**
 * Keys of a tag that only the mapping layer (publishing) or the command router (commands) reads; a
 * change in them does not concern the driver, and applies in place through TagPublisher.update and
 * CommandRouter.update. Engineering limits are the router's: drivers do not check min/max.
 */
const PUBLISH_ONLY = new Set([
  'topic',
  'qos',
  'retain',
  'policy',
  'expirySec',
  'unit',
  'description',
  // Command-only:
  'min',
  'max',
  'enum',
  'commandTimeoutMs',
  'rateLimit',
]);

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function driverView(tag: MappedTag): Record<string, unknown> {
  return Object.fromEntries(Object.entries(tag).filter(([k]) => !PUBLISH_ONLY.has(k)));
}

function compare<T>(
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
  equal = same,
): Changes<string> {
  const changes: Changes<string> = { added: [], removed: [], changed: [] };
  for (const [key, value] of after) {
    if (!before.has(key)) changes.added.push(key);
    else if (!equal(before.get(key), value)) changes.changed.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) changes.removed.push(key);
  return changes;
}

function tagsOf(loaded: LoadedConfig): Map<string, MappedTag> {
  const tags = new Map<string, MappedTag>();
  for (const m of loaded.mappings) for (const t of m.tags) tags.set(`${m.device}\u0000${t.name}`, t);
  return tags;
}

function driverTagsOf(loaded: LoadedConfig, device: string): unknown[] {
  return loaded.mappings
    .filter((m) => m.device === device)
    .flatMap((m) => m.tags.map(driverView))
    .sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

export function diffConfig(old: LoadedConfig, next: LoadedConfig): ConfigDiff {
  const devices = compare(
    new Map(old.config.devices.map((d) => [d.id, { device: d, tags: driverTagsOf(old, d.id) }])),
    new Map(next.config.devices.map((d) => [d.id, { device: d, tags: driverTagsOf(next, d.id) }])),
  );
  const mappings = compare(
    new Map(old.mappings.map((m) => [`${m.file}#${m.device}`, m])),
    new Map(next.mappings.map((m) => [`${m.file}#${m.device}`, m])),
  );
  const toRef = (key: string): TagRef => {
    const [device, tag] = key.split('\u0000') as [string, string];
    return { device, tag };
  };
  const tagKeys = compare(tagsOf(old), tagsOf(next));
  const tags: Changes<TagRef> = {
    added: tagKeys.added.map(toRef),
    removed: tagKeys.removed.map(toRef),
    changed: tagKeys.changed.map(toRef),
  };
  const o = old.config;
  const n = next.config;
  const restart = {
    gateway: !same(o.gateway, n.gateway),
    broker: !same(o.broker, n.broker),
    bridges: !same(o.bridges, n.bridges),
    http: !same(o.http, n.http),
    simulators: !same(o.simulators, n.simulators),
  };
  const restartNeeded = Object.values(restart).some(Boolean);
  const count = (c: Changes<unknown>): number => c.added.length + c.removed.length + c.changed.length;
  const empty =
    !restartNeeded && count(devices) + count(mappings) + count(tags) === 0 && same(o.mappings, n.mappings);
  return { devices, mappings, tags, restart, restartNeeded, empty };
}
