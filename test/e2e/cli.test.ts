// The `tagwire` command as a user runs it: a real process, real signals, real exit codes.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { demoConfig, repoRoot } from '../helpers/demo-config.js';
// Node with tsx as a loader, not tsx's wrapper process: its signal relay SIGKILLs the gateway on a loaded machine.
import { nodeArgs } from '../ops/cli.js';
import { run } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';

const cli = path.join(repoRoot, 'src/cli.ts');

function tagwire(args: string[], timeoutMs = 30_000) {
  return run(process.execPath, [...nodeArgs, cli, ...args], timeoutMs);
}

/** `tagwire start -c file` as its own process: its output so far, and its exit code once it exits. */
function startGateway(file: string) {
  const child = spawn(process.execPath, [...nodeArgs, cli, 'start', '-c', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, exited };
}

describe('tagwire validate', () => {
  it('accepts the demo config', async () => {
    const out = await tagwire(['validate', '-c', path.join(repoRoot, 'gateway.config.json')]);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/gateway\.config\.json: ok \(2 devices, \d+ mappings, \d+ tags\)/);
    expect(out.code).toBe(0);
  });

  it('prints one line per problem, file: pointer: message, and exits 1', async () => {
    const demo = await demoConfig((config) => {
      (config.gateway as Record<string, unknown>).logLevle = 'info';
      config.devices[0]!.transport!.port = 70000;
    });
    const out = await tagwire(['validate', '-c', demo.file]);
    expect(out.code).toBe(1);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/gateway\.config\.json: \/\S+: .+/);
    expect(out.stderr).toContain('/gateway');
    expect(out.stderr).toContain('logLevle');
    expect(out.stderr).toContain('/devices/0/transport/port');
  });
});

describe('tagwire start', () => {
  it('refuses to start on a broken config with the same lines', async () => {
    const demo = await demoConfig((config) => {
      config.devices[0]!.transport!.port = 70000;
    });
    const validate = await tagwire(['validate', '-c', demo.file]);
    const start = await tagwire(['start', '-c', demo.file]);
    expect(start.code).toBe(1);
    const problemLines = (s: string) => s.split('\n').filter((l) => l.includes('gateway.config.json: /'));
    expect(problemLines(start.stderr)).toEqual(problemLines(validate.stderr));
    expect(problemLines(start.stderr).length).toBeGreaterThan(0);
  });

  it('says what runs where, serves MQTT, and stops cleanly with exit 0 on SIGINT', async () => {
    const demo = await demoConfig();
    const { child, stdout, exited } = startGateway(demo.file);
    try {
      await waitFor(() => stdout().includes('Ctrl-C'), 90_000, 'the start banner');
      expect(stdout()).toContain(`mqtt://127.0.0.1:${demo.mqttPort}`);
      expect(stdout()).toContain(`mosquitto_sub -h 127.0.0.1 -p ${demo.mqttPort} -t 'acme/#' -v`);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
      const got = new Promise<string>((resolve) => client.on('message', (topic) => resolve(topic)));
      await client.subscribeAsync('acme/#');
      expect(await got).toMatch(/^acme\//);
      await client.endAsync();
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    // A clean SQLite close checkpoints the WAL and removes it.
    expect(existsSync(path.join(demo.dir, 'data', 'tagwire.db'))).toBe(true);
    expect(existsSync(path.join(demo.dir, 'data', 'tagwire.db-wal'))).toBe(false);
  }, 120_000);

  it('stops cleanly on a signal that arrives while it is still starting', async () => {
    // The demo's Modbus simulator listens well before the OPC UA one (node-opcua's import and
    // address space): a signal sent in between finds the gateway mid-start.
    const demo = await demoConfig();
    const { child, stdout, exited } = startGateway(demo.file);
    await waitFor(() => stdout().includes('modbus simulator listening'), 90_000, 'the Modbus simulator');
    const startedBeforeSignal = stdout().includes('Ctrl-C');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(startedBeforeSignal).toBe(false);
    expect(stdout()).toContain('stopping once the start has settled');
    expect(stdout()).toContain('"msg":"stopped"');
    expect(stdout()).not.toContain('Ctrl-C');
  }, 120_000);

  it('stops cleanly on SIGTERM too; the banner lists bridges and counts in words that agree', async () => {
    const upstreamPort = await freePort();
    const demo = await demoConfig((config) => {
      config.simulators.opcua = [];
      config.devices = config.devices.filter((d) => d.driver !== 'opcua');
      config.mappings = [path.join(repoRoot, 'mappings/press1.json')];
      config.bridges = [
        { name: 'plant', url: `mqtt://edge:secret@127.0.0.1:${upstreamPort}`, out: [{ filter: 'acme/#' }] },
      ];
    });
    const { child, stdout, exited } = startGateway(demo.file);
    await waitFor(() => stdout().includes('Ctrl-C'), 90_000, 'the start banner');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const line = (label: string) =>
      stdout()
        .split('\n')
        .find((l) => l.trimStart().startsWith(`${label} `));
    expect(line('config')).toMatch(/\(1 device, 1 mapping, 7 tags\)$/);
    expect(line('devices')).toMatch(/press1 \(modbus\)$/);
    // The upstream without the credentials written into its URL.
    expect(line('bridges')).toMatch(new RegExp(`plant -> mqtt://127\\.0\\.0\\.1:${upstreamPort}$`));
    // One style of path: the config and data folder both outside the working directory, both absolute.
    expect(line('config')).toContain(demo.file);
    expect(line('data')).toMatch(new RegExp(`data\\s+${path.join(demo.dir, 'data')}$`));
  }, 120_000);
});

describe('tagwire', () => {
  it('lists its commands and rejects unknown ones', async () => {
    const help = await tagwire(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['start', 'validate', 'sim', 'passwd', 'browse', 'pki', 'import', 'audit']) {
      expect(help.stdout).toContain(command);
    }
    const unknown = await tagwire(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it('prints its version from source and from the build', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const fromSource = await tagwire(['--version']);
    expect(fromSource.stdout.trim()).toBe(version);
    expect(fromSource.code).toBe(0);
    // `npm install` builds dist (the prepare script); bin/tagwire.js is what an installed user runs.
    const built = await run('node', [path.join(repoRoot, 'bin/tagwire.js'), '--version']);
    expect(built.stderr).toBe('');
    expect(built.stdout.trim()).toBe(version);
  });

  it('reports a missing config file by name', async () => {
    const missing = path.join(repoRoot, 'no-such-config.json');
    const out = await tagwire(['validate', '-c', missing]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no-such-config.json');
  });
});
