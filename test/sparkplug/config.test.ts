// The sparkplug block of mapping files: defaults, and the problems `tagwire validate` reports
// when mappings of one edge node disagree or name a bridge that does not exist.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, formatProblem, loadConfig } from '../../src/config/load.js';
import { baseConfig, press1, pressMapping, workspace, type Workspace } from '../config/fixtures.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace();
  process.chdir(ws.dir);
});
afterEach(() => ws.remove());

async function problemsOf(): Promise<string[]> {
  try {
    await loadConfig(ws.file('gateway.config.json'));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

const press2 = { ...press1, id: 'press2' };

describe('sparkplug config', () => {
  it('takes the gateway id as edge node and the device id as Sparkplug device by default', async () => {
    ws.write('gateway.config.json', baseConfig());
    ws.write('mappings/press1.json', pressMapping({ sparkplug: { groupId: 'plant1' } }));
    const loaded = await loadConfig(ws.file('gateway.config.json'));
    expect(loaded.mappings[0]!.sparkplug).toEqual({
      groupId: 'plant1',
      edgeNodeId: 'edge-test',
      deviceId: 'press1',
      json: true,
    });
  });

  it('reports mappings of one node that disagree, a taken device id, an unknown bridge and a bad id', async () => {
    ws.write('gateway.config.json', baseConfig({ devices: [press1, press2] }));
    ws.write(
      'mappings/a.json',
      pressMapping({ sparkplug: { groupId: 'g', primaryHostId: 'scada', bridge: 'plant' } }),
    );
    ws.write(
      'mappings/b.json',
      pressMapping({
        device: 'press2',
        topic: 'acme/plant1/line1/press2',
        sparkplug: { groupId: 'g', primaryHostId: 'other', deviceId: 'press1' },
      }),
    );
    ws.write('mappings/c.json', {
      ...pressMapping({ device: 'press2', topic: 'acme/x' }),
      tags: [{ name: 'extra', address: 'hr:300', type: 'int16' }],
      sparkplug: { groupId: 'g/h' },
    });
    const problems = await problemsOf();
    expect(problems).toEqual(
      expect.arrayContaining([
        'mappings/a.json: /sparkplug/bridge: bridge "plant" is not defined in gateway.config.json',
        'mappings/b.json: /sparkplug/primaryHostId: edge node g/edge-test is given two primary hosts: "scada" and "other"',
        'mappings/b.json: /sparkplug/bridge: edge node g/edge-test is given two bridges: "plant" and "none"',
        'mappings/b.json: /sparkplug/deviceId: Sparkplug device "press1" of node g/edge-test is already device "press1"',
      ]),
    );
    expect(problems.some((p) => p.startsWith('mappings/c.json: /sparkplug/groupId'))).toBe(true);
  });
});
