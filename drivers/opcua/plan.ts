// A tag as this driver runs it: the common tag keys, the OPC UA keys with their schema defaults,
// and the node id checked once.
import type { TagConfig } from '../types.js';
import type { OpcuaTagOptions } from './config.js';
import { withTagDefaults } from './defaults.js';

export type TagPlan = TagConfig & OpcuaTagOptions & { samplingMs: number };

export function planTags(deviceId: string, tags: readonly TagConfig[]): TagPlan[] {
  return tags.map((tag) => {
    const withDefaults = withTagDefaults(tag, `OPC UA device ${deviceId}, tag ${tag.name}`);
    return { ...withDefaults, samplingMs: withDefaults.samplingIntervalMs ?? tag.pollMs };
  });
}
