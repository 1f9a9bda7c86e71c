// The demo oven mapping: its tags pass this driver's schema and checks, and every one of them reads
// good from the simulator it is written for.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withDeviceDefaults, withTagDefaults } from '../../../drivers/opcua/defaults.js';
import { opcuaDriver } from '../../../drivers/opcua/index.js';
import type { TagConfig } from '../../../drivers/types.js';
import { waitFor } from '../../helpers/net.js';
import { simAndDriver } from './harness.js';

interface MappingFile {
  device: string;
  topic: string;
  defaults: { pollMs: number };
  tags: (Partial<TagConfig> & { name: string; address: string })[];
}
const mapping = JSON.parse(
  fs.readFileSync(new URL('../../../mappings/oven1.json', import.meta.url), 'utf8'),
) as MappingFile;
const tags: TagConfig[] = mapping.tags.map((t) => ({
  type: 'auto',
  writable: false,
  ...t,
  pollMs: t.pollMs ?? mapping.defaults.pollMs,
}));

const oven = simAndDriver('mapping', { id: 'oven1' }, tags);

describe('mappings/oven1.json', () => {
  it('is the oven under acme/plant1/line1/oven1 with a bounded writable setpoint', () => {
    expect(mapping).toMatchObject({ device: 'oven1', topic: 'acme/plant1/line1/oven1' });
    expect(mapping.tags.find((t) => t.name === 'setpoint')).toMatchObject({
      writable: true,
      min: 0,
      max: 250,
      unit: 'degC',
    });
  });

  it('passes the tag schema and checkTag', () => {
    const device = withDeviceDefaults({ id: 'oven1', endpointUrl: 'opc.tcp://127.0.0.1:4840' });
    for (const t of tags) {
      expect(opcuaDriver.checkTag(withTagDefaults(t, t.name), device), t.name).toEqual([]);
    }
  });

  it('reads every tag good from the simulator', async () => {
    await waitFor(() => oven.driver.status().state === 'connected', 30_000, 'connected');
    const samples = await oven.driver.read(tags.map((t) => t.name));
    for (const s of samples) expect(s.quality, s.tag).toBe('good');
    const r = await oven.driver.write('setpoint', 150);
    expect(r).toMatchObject({ ok: true, sample: { value: 150 } });
  });
});
