// The built CLI is a bundle of tagwire's code, one file and its chunks (scripts/bundle-cli.mjs):
// what it finds beside its modules (the generated config and defaults validators, node-opcua's
// load order, the OPC UA simulator's worker, the package folder with the console) it must still
// find, run as `npm start` and `tagwire` do.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoConfig, repoRoot } from '../helpers/demo-config.js';
import { waitFor } from '../helpers/net.js';
import { runToEnd } from '../helpers/process.js';

const cli = path.join(repoRoot, 'dist/src/cli.js');

beforeAll(() => {
  const build = spawnSync('node', ['scripts/build-if-stale.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
}, 300_000);

describe('the bundled CLI (dist/src/cli.js)', () => {
  it('is one file and its chunks: no module of tagwire is imported from dist/ by path', () => {
    const dir = path.dirname(cli);
    const files = ['cli.js', ...readdirSync(dir).filter((f) => f.startsWith('cli-chunk-'))];
    // Comment lines left out: the bundled packages' JSDoc names their own files in import() types.
    const code = (file: string): string =>
      readFileSync(path.join(dir, file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line))
        .join('\n');
    const relative = files.flatMap((file) =>
      [...code(file).matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)]
        .map((m) => m[1]!)
        .filter((s) => s.startsWith('.') || s.startsWith('/')),
    );
    // The commands are chunks loaded when they run (cli.js imports them), each beside cli.js.
    expect(relative.length).toBeGreaterThan(0);
    for (const specifier of relative) {
      expect(specifier).toMatch(/^\.\/cli-chunk-[A-Z0-9]+\.js$/);
      expect(existsSync(path.join(dir, specifier))).toBe(true);
    }
  });

  it('validates with the validators generated at build time, and reports a typo as before', async () => {
    const demo = await demoConfig((config) => {
      (config.gateway as Record<string, unknown>).logLevle = 'info';
    });
    const out = await runToEnd(process.execPath, [cli, 'validate', '-c', demo.file], {
      // Node's module debug lines say which file each require loaded.
      env: { ...process.env, NODE_DEBUG: 'module' },
      timeoutMs: 60_000,
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/gateway\.config\.json: \/gateway: .*logLevle/);
    expect(out.stderr).toContain(`load "${path.join(repoRoot, 'dist/src/config/validators.generated.cjs')}"`);
  });

  it('runs the demo: both simulators (OPC UA in its worker thread), the console, values of both devices', async () => {
    const demo = await demoConfig();
    const child = spawn(process.execPath, [cli, 'start', '-c', demo.file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_DEBUG: 'module' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /running \(started in \d+ ms\)/.test(stdout), 90_000, 'the start banner');
      expect(stdout).toContain(`opc.tcp://127.0.0.1:${demo.opcuaPort}`);
      const http = `http://127.0.0.1:${demo.httpPort}`;
      expect((await fetch(`${http}/readyz`)).status).toBe(200);
      const page = await fetch(`${http}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<html');
      // fastify, @fastify/static and prom-client are bundled (scripts/bundle-cli.mjs): they serve
      // the console's files and the metrics from the bundle.
      const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(new URL(script!, `${http}/`));
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
      const metrics = await fetch(`${http}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# TYPE tagwire_\w+ /m);

      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
      const devices = new Set<string>();
      client.on('message', (topic) => devices.add(topic.split('/')[3] ?? ''));
      await client.subscribeAsync('acme/#');
      await waitFor(
        () => devices.has('press1') && devices.has('oven1'),
        60_000,
        'values of press1 and oven1',
      );
      await client.endAsync();
      // The drivers' defaults came from the validators generated beside the built json-schema.js.
      expect(stderr).toContain(`load "${path.join(repoRoot, 'dist/drivers/defaults.generated.cjs')}"`);
      // node-opcua came in slices by the order recorded beside the built load.js, package by
      // package (required by file), in the driver (the bundle) and in the simulator's thread.
      const byFile = `Module._load REQUEST ${path.join(repoRoot, 'node_modules/node-opcua-types/dist/index.js')} `;
      expect(stderr.split(byFile).length - 1).toBe(2);
      // The packages bundled into the CLI are not loaded again from node_modules; pino, kept out
      // of the bundle, is.
      for (const bundled of ['fastify', '@fastify/static', 'mqtt-packet', 'prom-client'])
        expect(stderr).not.toContain(`load "${path.join(repoRoot, 'node_modules', bundled)}${path.sep}`);
      expect(stderr).toContain(`load "${path.join(repoRoot, 'node_modules', 'pino')}${path.sep}`);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, stderr).toBe(0);
  }, 180_000);
});
