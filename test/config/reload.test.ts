import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diffConfig } from '../../src/config/diff.js';
import { loadConfig } from '../../src/config/load.js';
import { watchConfig, type ReloadResult } from '../../src/config/watch.js';
import { sleep, waitFor } from '../helpers/net.js';
import { baseConfig, press1, pressMapping, workspace, type Workspace } from './fixtures.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
  ws.write('gateway.config.json', baseConfig({ devices: [press1, { ...press1, id: 'press2' }] }));
  ws.write('mappings/press1.json', pressMapping());
  ws.write('mappings/press2.json', pressMapping({ device: 'press2', topic: 'acme/plant1/line1/press2' }));
});
afterEach(() => ws.remove());

const load = () => loadConfig(ws.file('gateway.config.json'));

describe('diffConfig', () => {
  it('finds nothing between two loads of the same files', async () => {
    const diff = diffConfig(await load(), await load());
    expect(diff.empty).toBe(true);
    expect(diff.restartNeeded).toBe(false);
  });

  it('separates publishing-only changes from changes the driver must see', async () => {
    const before = await load();
    const mapping = pressMapping() as { tags: Array<Record<string, unknown>> };
    mapping.tags[0] = { ...mapping.tags[0], deadband: 2, qos: 0 }; // publishing only
    mapping.tags[1] = { ...mapping.tags[1], address: 'coil:1' }; // the driver reads elsewhere
    mapping.tags.pop(); // setpoint removed
    mapping.tags.push({ name: 'cycles', address: 'hr:104', type: 'uint32' });
    ws.write('mappings/press1.json', mapping);
    const diff = diffConfig(before, await load());
    expect(diff.tags).toEqual({
      added: [{ device: 'press1', tag: 'cycles' }],
      removed: [{ device: 'press1', tag: 'setpoint' }],
      changed: [
        { device: 'press1', tag: 'temperature' },
        { device: 'press1', tag: 'running' },
      ],
    });
    expect(diff.devices).toEqual({ added: [], removed: [], changed: ['press1'] });
    expect(diff.mappings.changed).toEqual([ws.file('mappings/press1.json') + '#press1']);
    expect(diff.restartNeeded).toBe(false);
  });

  it('leaves the driver alone when only topics and policies change', async () => {
    const before = await load();
    ws.write(
      'mappings/press2.json',
      pressMapping({ device: 'press2', topic: 'acme/moved/press2', defaults: { heartbeatMs: 5000 } }),
    );
    const diff = diffConfig(before, await load());
    expect(diff.devices.changed).toEqual([]);
    expect(diff.tags.changed).toHaveLength(3);
  });

  it('leaves the driver alone when only command limits and the unit change', async () => {
    const before = await load();
    const mapping = pressMapping() as { tags: Array<Record<string, unknown>> };
    mapping.tags[0] = { ...mapping.tags[0], unit: 'K' };
    mapping.tags[2] = {
      ...mapping.tags[2],
      min: -50,
      max: 900,
      enum: [0, 100, 900],
      commandTimeoutMs: 800,
      rateLimit: { writes: 2, perSec: 10 },
    };
    ws.write('mappings/press1.json', mapping);
    const diff = diffConfig(before, await load());
    expect(diff.devices.changed).toEqual([]);
    expect(diff.tags.changed).toEqual([
      { device: 'press1', tag: 'temperature' },
      { device: 'press1', tag: 'setpoint' },
    ]);
    // What the driver reads or writes still rebuilds it.
    mapping.tags[2] = { ...mapping.tags[2], type: 'uint16' };
    ws.write('mappings/press1.json', mapping);
    expect(diffConfig(before, await load()).devices.changed).toEqual(['press1']);
  });

  it('says when a block needs a restart, and sees devices come and go', async () => {
    const before = await load();
    ws.write(
      'gateway.config.json',
      baseConfig({ devices: [press1, { ...press1, id: 'press3' }], http: { port: 9999 } }),
    );
    ws.write('mappings/press2.json', pressMapping({ device: 'press3', topic: 'acme/plant1/line1/press3' }));
    const diff = diffConfig(before, await load());
    expect(diff.devices).toEqual({ added: ['press3'], removed: ['press2'], changed: [] });
    expect(diff.restart).toEqual({
      gateway: false,
      broker: false,
      bridges: false,
      http: true,
      simulators: false,
    });
    expect(diff.restartNeeded).toBe(true);
  });
});

describe('watchConfig', () => {
  it('yields a fresh config after an edit, the problems of a bad edit, and nothing for a no-op', async () => {
    const results: ReloadResult[] = [];
    const watcher = watchConfig(ws.file('gateway.config.json'), (r) => results.push(r), {
      debounceMs: 100,
      current: await load(),
    });
    try {
      ws.write('mappings/press1.json', pressMapping({ topic: 'acme/edited/press1' }));
      const first = await waitFor(() => results[0], 10_000, 'a reload');
      expect(first.ok && first.loaded.mappings.find((m) => m.device === 'press1')!.topic).toBe(
        'acme/edited/press1',
      );

      ws.write(
        'mappings/press1.json',
        pressMapping({
          topic: 'acme/edited/press1',
          tags: [{ name: 'x', address: 'hr:1', type: 'int16', pollMS: 5 }],
        }),
      );
      const second = await waitFor(() => results[1], 10_000, 'a rejected reload');
      if (second.ok) throw new Error('the bad edit was accepted');
      expect(
        second.problems.map((p) => [p.file.endsWith('mappings/press1.json'), p.pointer, p.message]),
      ).toEqual([[true, '/tags/0', 'unknown key "pollMS" (did you mean "pollMs"?)']]);

      // A new mapping file in a watched folder is picked up too.
      ws.write(
        'gateway.config.json',
        baseConfig({ devices: [press1, { ...press1, id: 'press2' }, { ...press1, id: 'press4' }] }),
      );
      ws.write('mappings/press1.json', pressMapping({ topic: 'acme/edited/press1' }));
      ws.write('mappings/press4.json', pressMapping({ device: 'press4', topic: 'acme/new/press4' }));
      const third = await waitFor(
        () => results.slice(2).find((r) => r.ok && r.loaded.mappings.some((m) => m.device === 'press4')),
        10_000,
        'the new mapping',
      );
      expect(third.ok).toBe(true);

      // The same content written again yields nothing. Behind it, a real edit: the watcher reports
      // in order, so once that edit arrives a no-op reported by mistake would be in front of it.
      const count = results.length;
      writeFileSync(
        ws.file('mappings/press4.json'),
        JSON.stringify(pressMapping({ device: 'press4', topic: 'acme/new/press4' })),
      );
      await sleep(500); // lets the no-op settle alone (five debounces); if it has not, the two merge
      ws.write('mappings/press4.json', pressMapping({ device: 'press4', topic: 'acme/marker/press4' }));
      await waitFor(() => results.length > count, 10_000, 'the edit behind the no-op');
      expect(
        results.slice(count).map((r) => r.ok && r.loaded.mappings.find((m) => m.device === 'press4')?.topic),
      ).toEqual(['acme/marker/press4']);
    } finally {
      watcher.close();
    }
  });
});
