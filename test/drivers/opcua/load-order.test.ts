// node-opcua in slices (drivers/opcua/load-order.ts): the order recorded from a plain require puts
// every package after what it requires and keeps a require cycle in one piece; loading by that
// order gives what a plain require gives, with event-loop turns in between, and falls back to a
// plain require when the record does not fit the installed package.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordLoadOrder, requireInSlices, type LoadOrder } from '../../../drivers/opcua/load-order.js';
import { repoRoot } from '../../helpers/demo-config.js';
import { runToEnd } from '../../helpers/process.js';

/** What the fixture modules record as they run, in this test's global scope. */
interface Trace {
  evaluated: string[];
}
const trace = (): Trace => (globalThis as unknown as { __loadOrderTrace: Trace }).__loadOrderTrace;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh node_modules (fresh paths: nothing of it is in the module cache): `app` requires `b`
 * and `d`, `b` requires `c`, `d` and `e` require each other, `c` has a module of its own.
 */
function fixture(): { require: NodeJS.Require; dir: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'tagwire-load-order-'));
  dirs.push(root);
  const pkg = (name: string, main: string, files: Record<string, string> = {}): void => {
    const dir = path.join(root, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name, version: '1.0.0', main: 'index.js' }),
    );
    const log = `globalThis.__loadOrderTrace.evaluated.push(${JSON.stringify(name)});\n`;
    writeFileSync(path.join(dir, 'index.js'), log + main);
    for (const [file, source] of Object.entries(files)) writeFileSync(path.join(dir, file), source);
  };
  pkg('app', "exports.b = require('b'); exports.d = require('d');");
  pkg('b', "exports.c = require('c').value + 1;");
  pkg('c', "exports.value = require('./own.js');", { 'own.js': 'module.exports = 41;' });
  pkg('d', "exports.early = true; exports.e = require('e'); exports.late = true;");
  // What `e` sees of `d` depends on the cycle being entered from `d`, as in a plain require.
  pkg('e', "const d = require('d'); exports.sawLate = 'late' in d;");
  (globalThis as unknown as { __loadOrderTrace: Trace }).__loadOrderTrace = { evaluated: [] };
  return { require: createRequire(path.join(root, 'index.js')), dir: path.join(root, 'node_modules', 'app') };
}

describe('recording the load order', () => {
  it('lists each package after what it requires, relative to the package, a cycle as one entry', () => {
    const { require } = fixture();
    const order = recordLoadOrder('app', require);
    expect(order).toEqual({
      package: 'app',
      version: '1.0.0',
      entries: ['../c/index.js', '../b/index.js', '../d/index.js', 'index.js'],
    });
    // The record is of a plain require: the same modules, once each.
    expect(trace().evaluated).toEqual(['app', 'b', 'c', 'd', 'e']);
  });
});

describe('requiring in slices', () => {
  it('gives what a plain require gives, one entry per event-loop turn', async () => {
    const recorded = fixture();
    const order = recordLoadOrder('app', recorded.require);
    const plain = recorded.require('app') as unknown;

    const { require } = fixture();
    const turns: string[] = [];
    // Each turn of the loop between two entries shows as a mark between their evaluations.
    const mark = (): void => {
      turns.push(trace().evaluated.join(','));
      if (turns.length < 20) setImmediate(mark);
    };
    setImmediate(mark);
    const sliced = await requireInSlices<unknown>('app', require, order);
    expect(sliced).toEqual(plain);
    expect(sliced).toEqual({ b: { c: 42 }, d: { early: true, e: { sawLate: false }, late: true } });
    expect(trace().evaluated).toEqual(['c', 'b', 'd', 'e', 'app']);
    // The loop turned after c, after b and after d (with e), before app.
    expect(turns).toEqual(expect.arrayContaining(['c', 'c,b', 'c,b,d,e']));
  });

  it('is a plain require when the record is of another version or another package', async () => {
    const { require } = fixture();
    const order: LoadOrder = {
      package: 'app',
      version: '0.9.0',
      entries: ['../c/index.js', '../b/index.js'],
    };
    let turned = false;
    setImmediate(() => (turned = true));
    const loaded = await requireInSlices<{ b: { c: number } }>('app', require, order);
    expect(loaded.b.c).toBe(42);
    // No turn of the loop in between: everything loaded in the first one.
    expect(turned).toBe(false);
    expect(trace().evaluated).toEqual(['app', 'b', 'c', 'd', 'e']);

    const other = fixture();
    const elsewhere = await requireInSlices<{ value: number }>('c', other.require, {
      ...order,
      version: '1.0.0',
    });
    expect(elsewhere.value).toBe(41);
  });

  it('skips entries that are gone and reports a package that fails as a plain require would', async () => {
    const { require } = fixture();
    const order: LoadOrder = {
      package: 'app',
      version: '1.0.0',
      entries: ['../gone/index.js', '../c/index.js', 'index.js'],
    };
    await expect(requireInSlices('app', require, order)).resolves.toMatchObject({ b: { c: 42 } });

    const broken = fixture();
    writeFileSync(path.join(broken.dir, '..', 'b', 'index.js'), "throw new Error('b is broken');");
    await expect(
      requireInSlices('app', broken.require, { ...order, entries: ['../b/index.js', 'index.js'] }),
    ).rejects.toThrow('b is broken');
  });

  it('loads the real node-opcua by its recorded order with an event-loop turn per entry', async () => {
    // Processes of their own: this one may have node-opcua loaded already.
    const child = (...args: string[]) =>
      runToEnd(process.execPath, ['--import', 'tsx', 'test/drivers/opcua/load-order-child.ts', ...args], {
        cwd: repoRoot,
        timeoutMs: 120_000,
      }).then((out) => JSON.parse(out.stdout.trim().split('\n').at(-1)!) as unknown);
    const order = (await child('record')) as LoadOrder;
    expect(order.package).toBe('node-opcua');
    expect(order.entries.length).toBeGreaterThan(50);
    expect(order.entries.at(-1)).toBe('dist/index.js');
    const root = mkdtempSync(path.join(tmpdir(), 'tagwire-load-order-'));
    dirs.push(root);
    writeFileSync(path.join(root, 'order.json'), JSON.stringify(order));
    const loaded = (await child('load', path.join(root, 'order.json'))) as { turns: number; client: string };
    expect(loaded.client).toBe('function');
    expect(loaded.turns).toBeGreaterThanOrEqual(order.entries.length);

    // The driver's part alone (node-opcua-client): fewer packages, the same client.
    const client = (await child('record', 'node-opcua-client')) as LoadOrder;
    expect(client.package).toBe('node-opcua-client');
    expect(client.entries.length).toBeGreaterThan(20);
    expect(client.entries.length).toBeLessThan(order.entries.length);
    writeFileSync(path.join(root, 'client.json'), JSON.stringify(client));
    const clientLoaded = (await child('load', path.join(root, 'client.json'))) as {
      turns: number;
      client: string;
    };
    expect(clientLoaded.client).toBe('function');
    expect(clientLoaded.turns).toBeGreaterThanOrEqual(client.entries.length);
  }, 150_000);
});
