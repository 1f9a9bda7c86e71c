// `tagwire browse` against the simulator: the skeleton lists the oven's variables with node ids,
// types, units and writable only where the server allows, and `tagwire validate` accepts it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOpcuaSimulator } from '../../../drivers/opcua/simulator/index.js';
import { main as browse } from '../../../src/cli/browse.js';
import { main as validate } from '../../../src/cli/validate.js';
import { captureOutput } from '../../helpers/capture.js';
import { simPkiDir, startSim, tempDir } from './harness.js';

let sim: RunningOpcuaSimulator;
const dir = tempDir('tagwire-opcua-browse-');

interface Skeleton {
  device: string;
  topic: string;
  tags: { name: string; address: string; type?: string; unit?: string; writable?: boolean }[];
}

beforeAll(async () => {
  sim = await startSim({ pkiDir: simPkiDir('browse') });
}, 90_000);

afterAll(async () => {
  await sim?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tagwire browse', { timeout: 60_000 }, () => {
  it('writes a mapping skeleton of the address space', async () => {
    const out = path.join(dir, 'mappings', 'browsed.json');
    const res = await captureOutput(() =>
      browse([
        sim.endpointUrl,
        '--out',
        out,
        '--device',
        'oven1',
        '--topic',
        'acme/plant1/line1/oven1',
        '--pki',
        path.join(dir, 'pki'),
      ]),
    );
    expect(res.code, res.err).toBe(0);
    expect(res.err).toMatch(/\d+ variables \(\d+ writable\) -> /);
    const skeleton = JSON.parse(fs.readFileSync(out, 'utf8')) as Skeleton;
    expect(skeleton).toMatchObject({ device: 'oven1', topic: 'acme/plant1/line1/oven1' });
    const byAddress = new Map(skeleton.tags.map((t) => [t.address, t]));
    expect(byAddress.get('ns=2;s=Oven.Temperature')).toMatchObject({
      name: 'Oven.Temperature',
      type: 'Double',
      unit: '°C',
    });
    expect(byAddress.get('ns=2;s=Oven.Temperature')!.writable).toBeUndefined();
    expect(byAddress.get('ns=2;s=Oven.Setpoint')).toMatchObject({ type: 'Double', writable: true });
    expect(byAddress.get('ns=2;s=Types.UInt64')).toMatchObject({ type: 'UInt64', writable: true });
    expect(byAddress.get('ns=2;s=Types.ReadOnlyInt32')!.writable).toBeUndefined();
    expect(byAddress.get('ns=2;s=Types.Range')!.type).toBeUndefined();
    // Properties are not tags, and the Server object is skipped unless asked for.
    expect(skeleton.tags.some((t) => /EURange|EngineeringUnits/.test(t.name))).toBe(false);
    expect(skeleton.tags.some((t) => t.address.startsWith('i=22'))).toBe(false);

    const config = {
      gateway: { id: 'browse-test', dataDir: path.join(dir, 'data') },
      devices: [{ id: 'oven1', driver: 'opcua', endpointUrl: sim.endpointUrl }],
      mappings: ['mappings/*.json'],
    };
    const configFile = path.join(dir, 'gateway.config.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const checked = await captureOutput(() => validate(['-c', configFile]));
    expect(checked.err).toBe('');
    expect(checked.code).toBe(0);
  });

  it('refuses to overwrite an existing file without --force, and replaces it with --force', async () => {
    const out = path.join(dir, 'mine.json');
    fs.writeFileSync(out, '{"hand": "written"}');
    const args = [sim.endpointUrl, '--root', 'ns=2;s=Oven', '--depth', '1', '--out', out];
    const refused = await captureOutput(() => browse([...args, '--pki', path.join(dir, 'pki')]));
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`tagwire browse: ${out} exists; --force replaces it\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe('{"hand": "written"}');
    const forced = await captureOutput(() => browse([...args, '--force', '--pki', path.join(dir, 'pki')]));
    expect(forced.code, forced.err).toBe(0);
    expect((JSON.parse(fs.readFileSync(out, 'utf8')) as Skeleton).tags.length).toBeGreaterThan(5);
  });

  it('prints to stdout, from a root and to a depth', async () => {
    const res = await captureOutput(() =>
      browse([sim.endpointUrl, '--root', 'ns=2;s=Oven', '--depth', '1', '--pki', path.join(dir, 'pki')]),
    );
    expect(res.code, res.err).toBe(0);
    const skeleton = JSON.parse(res.out) as Skeleton;
    expect(skeleton.tags.length).toBeGreaterThan(5);
    expect(skeleton.tags.every((t) => t.address.startsWith('ns=2;s=Oven.'))).toBe(true);
    expect(skeleton.tags.map((t) => t.name)).toContain('Temperature');
  });

  it('explains an endpoint that does not answer', async () => {
    const res = await captureOutput(() =>
      browse(['opc.tcp://127.0.0.1:1', '--pki', path.join(dir, 'pki'), '--timeout', '3000']),
    );
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/tagwire browse: .*127\.0\.0\.1:1/);
  });
});
