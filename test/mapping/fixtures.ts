// Mapped tags and mappings for the mapping tests: one device, press1, JSON on acme/press1.
import type { LoadedMapping, MappedTag } from '../../src/config/types.js';

/** A uint16 holding-register tag on acme/press1/{name}, published on change, not retained. */
export const mappedTag = (name: string, over: Partial<MappedTag> = {}): MappedTag => ({
  name,
  address: 'hr:1',
  type: 'uint16',
  pollMs: 1000,
  writable: false,
  topic: `acme/press1/${name}`,
  qos: 0,
  retain: false,
  policy: { kind: 'change', deadband: 0, deadbandPercent: 0, heartbeatMs: 0, minIntervalMs: 0 },
  commandTimeoutMs: 5000,
  ...over,
});

/** press1's JSON mapping of `tags`. */
export const mapping = (tags: MappedTag[], over: Partial<LoadedMapping> = {}): LoadedMapping => ({
  file: '/m.json',
  device: 'press1',
  topic: 'acme/press1',
  format: 'json',
  fields: {},
  tags,
  ...over,
});
