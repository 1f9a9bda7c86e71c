// The two ways tagwire reaches an edge PC, built and used as a user would:
// - the npm tarball: `npm pack`, `npm install -g` from it, `tagwire` from any folder, no TypeScript;
// - the offline bundle: `npm run bundle`, unpacked into an empty folder, run with no npm, no Node
//   and no registry reachable: validate, then the demo until a first value arrives over MQTT.
// One file, in order: both build dist/ in this checkout.
import { execFile, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { demoConfig, repoRoot } from '../helpers/demo-config.js';
import { waitFor } from '../helpers/net.js';

const exec = promisify(execFile);
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string })
  .version;
/** A registry address where nothing listens: any npm call at run time would fail on it. */
const NO_REGISTRY = 'http://127.0.0.1:9';

/** A PATH holding only what a shell launcher needs: no node, no npm. */
function barePath(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-path-'));
  for (const tool of ['sh', 'readlink', 'dirname']) {
    const found = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find((f) => existsSync(f));
    if (found) symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}

function runIn(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
) {
  return exec(command, args, { ...options, timeout: options.timeoutMs ?? 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

/** Every file below `dir`, relative to it. */
function filesBelow(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(prefix, entry.name);
    return entry.isDirectory() ? filesBelow(path.join(dir, entry.name), relative) : [relative];
  });
}

describe('npm package', () => {
  it('packs the built code, installs globally from the tarball and runs from any folder', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'tagwire-pack-'));
    const packed = await runIn('npm', ['pack', '--pack-destination', work, '--silent'], {
      cwd: repoRoot,
      env: process.env,
      timeoutMs: 300_000,
    });
    expect(packed.stderr).not.toMatch(/ERR!/);
    const tarball = path.join(work, `tagwire-${version}.tgz`);
    expect(existsSync(tarball)).toBe(true);
    const listing = (await exec('tar', ['-tzf', tarball])).stdout.split('\n');
    expect(listing).toContain('package/dist/src/cli.js');
    expect(listing).toContain('package/bin/tagwire.js');
    expect(listing.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(listing.filter((f) => f.startsWith('package/test/') || f.startsWith('package/src/'))).toEqual([]);

    // sqlite3's install step finds its native part as a local prebuild (made from this checkout's
    // build) instead of downloading or compiling it: the test stays offline and quick.
    const prebuilds = path.join(work, 'prebuilds');
    mkdirSync(path.join(prebuilds, 'build/Release'), { recursive: true });
    await exec('cp', [
      path.join(repoRoot, 'node_modules/sqlite3/build/Release/node_sqlite3.node'),
      path.join(prebuilds, 'build/Release/'),
    ]);
    const sqliteVersion = (
      JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/sqlite3/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    for (const napi of [3, 6])
      await exec('tar', [
        '-czf',
        path.join(prebuilds, `sqlite3-v${sqliteVersion}-napi-v${napi}-linux-${process.arch}.tar.gz`),
        '-C',
        prebuilds,
        'build',
      ]);
    const prefix = path.join(work, 'prefix');
    const installed = await runIn(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      {
        cwd: work,
        env: { ...process.env, npm_config_sqlite3_local_prebuilds: prebuilds },
        timeoutMs: 600_000,
      },
    );
    expect(installed.stderr).not.toMatch(/ERR!/);
    const pkgDir = path.join(prefix, 'lib/node_modules/tagwire');
    // Production dependencies only: no compiler, no test runner on the edge PC.
    for (const dev of ['typescript', 'vitest', 'tsx', 'eslint'])
      expect(existsSync(path.join(pkgDir, 'node_modules', dev))).toBe(false);
    expect(filesBelow(path.join(pkgDir, 'dist')).filter((f) => f.endsWith('.ts'))).toEqual([]);

    const bin = path.join(prefix, 'bin/tagwire');
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'tagwire-elsewhere-'));
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_registry: NO_REGISTRY };
    delete env.TAGWIRE_CONFIG;
    const shownVersion = await runIn(bin, ['--version'], { cwd: elsewhere, env });
    expect(shownVersion).toMatchObject({ code: 0, stdout: `${version}\n` });
    const init = await runIn(bin, ['init', 'site'], { cwd: elsewhere, env });
    expect(init.code).toBe(0);
    const validate = await runIn(bin, ['validate'], { cwd: path.join(elsewhere, 'site'), env });
    expect(validate.stdout).toContain('ok (1 device, 1 mapping, 3 tags)');
    expect(validate.code).toBe(0);
    const demo = await runIn(bin, ['validate', '-c', path.join(pkgDir, 'gateway.config.json')], {
      cwd: elsewhere,
      env,
    });
    expect(demo.code).toBe(0);
  }, 900_000);
});

describe('offline bundle', () => {
  it('unpacks into an empty folder and runs validate and the demo with no npm, Node or registry', async () => {
    const built = await runIn('npm', ['run', 'bundle', '--silent'], {
      cwd: repoRoot,
      env: process.env,
      timeoutMs: 900_000,
    });
    expect(built.stderr).not.toMatch(/ERR!/);
    const archive = path.join(repoRoot, 'bundle', `tagwire-${version}-linux-${process.arch}.tar.gz`);
    expect(existsSync(archive)).toBe(true);
    expect(statSync(archive).size).toBeLessThan(80 * 1024 * 1024);

    const target = mkdtempSync(path.join(tmpdir(), 'tagwire-bundle-'));
    await exec('tar', ['-xzf', archive, '-C', target]);
    const launcher = path.join(target, 'tagwire/bin/tagwire');
    const home = mkdtempSync(path.join(tmpdir(), 'tagwire-home-'));
    const env: NodeJS.ProcessEnv = { PATH: barePath(), HOME: home, npm_config_registry: NO_REGISTRY };

    const shownVersion = await runIn(launcher, ['--version'], { cwd: home, env });
    expect(shownVersion).toMatchObject({ code: 0, stdout: `${version}\n` });
    const lib = path.join(target, 'tagwire/lib');
    const validate = await runIn(launcher, ['validate', '-c', path.join(lib, 'gateway.config.json')], {
      cwd: home,
      env,
    });
    expect(validate.stdout).toContain('ok (2 devices, 2 mappings');
    expect(validate.code).toBe(0);

    // The demo, on free ports, from the bundle's own mappings: a first value reaches MQTT.
    const demo = await demoConfig((config) => {
      config.mappings = [path.join(lib, 'mappings/*.json')];
    });
    const child = spawn(launcher, ['start', '-c', demo.file], { cwd: home, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const client = await waitFor(
        () =>
          mqtt
            .connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 2000 })
            .catch(() => undefined),
        120_000,
        'the bundled gateway',
      );
      const first = new Promise<string>((resolve) =>
        client.on('message', (topic, payload) => resolve(`${topic} ${payload.toString()}`)),
      );
      await client.subscribeAsync('acme/#');
      expect(await first).toMatch(/^acme\/\S+ \{"value":/);
      await client.endAsync();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 1_200_000);
});
