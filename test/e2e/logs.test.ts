// The demo's logs as a newcomer and a service see them: JSON lines when stdout is not a terminal,
// each key once, nothing alarming from a healthy demo (start, run, clean stop), readable lines on a
// terminal, and one clear line for a busy port.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { parseJson } from '../../src/config/json.js';
import { demoConfig, repoRoot } from '../helpers/demo-config.js';
import { run } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
// Node with tsx as a loader, not tsx's wrapper process: its signal relay SIGKILLs the gateway on a loaded machine.
import { nodeArgs } from '../ops/cli.js';

const cli = path.join(repoRoot, 'src/cli.ts');
const node = [process.execPath, ...nodeArgs];

interface Started {
  stdout: () => string;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function startGateway(args: string[]): Started {
  const child = spawn(node[0]!, [...node.slice(1), cli, 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

describe('logs', () => {
  it('a healthy demo writes JSON lines, each key once, nothing at warn or above, from start to a clean stop', async () => {
    const demo = await demoConfig();
    const gateway = startGateway(['-c', demo.file]);
    try {
      await waitFor(() => gateway.stdout().includes('Ctrl-C'), 90_000, 'the start banner');
      // Both devices connected and values flowing, then a little more running time.
      await waitFor(
        () => /"device":"oven1","state":"connected"/.test(gateway.stdout()),
        60_000,
        'the oven connected',
      );
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${demo.mqttPort}`);
      let values = 0;
      client.on('message', () => values++);
      await client.subscribeAsync('acme/#');
      await waitFor(() => values >= 20, 30_000, 'values flowing');
      await client.endAsync();
    } finally {
      expect(await gateway.stop()).toBe(0);
    }
    const logLines = gateway
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const line of logLines) {
      const parsed = parseJson(line, 'log');
      if (!parsed.ok) problems.push(`not JSON: ${line}`);
      else if (parsed.duplicates.length > 0) problems.push(`a key twice: ${line}`);
      else {
        const entry = parsed.value as { level: number; error?: unknown; msg?: string };
        if (entry.level >= 40) problems.push(`alarming: ${line}`);
        if (/"state":"stopped"/.test(line) && entry.error !== undefined)
          problems.push(`stop with error: ${line}`);
      }
    }
    expect(problems).toEqual([]);
    // Everything else on stdout is the banner; stderr stays empty.
    const other = gateway
      .stdout()
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('{'));
    expect(other[0]).toMatch(/^tagwire: gateway edge-demo running/);
    expect(other.every((l) => l.startsWith('tagwire: ') || l.startsWith('  '))).toBe(true);
    expect(gateway.stderr()).toBe('');
  }, 180_000);

  it('a busy port gives one clear line, no stack trace', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const busy = (holder.address() as net.AddressInfo).port;
    try {
      const demo = await demoConfig((config) => {
        config.broker.listeners[0]!.port = busy;
        config.simulators.opcua = [];
        config.devices = config.devices.filter((d) => d.driver !== 'opcua');
        config.mappings = [path.join(repoRoot, 'mappings/press1.json')];
      });
      const out = await run(node[0]!, [...node.slice(1), cli, 'start', '-c', demo.file], 60_000);
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(
        `tagwire: not started: listener mqtt://127.0.0.1:${busy}: port ${busy} is already in use on 127.0.0.1 (EADDRINUSE: another gateway or MQTT broker?)\n`,
      );
      expect(out.stdout).not.toMatch(/stack|"level":[56]0/);
    } finally {
      holder.close();
    }
  }, 90_000);

  it('writes readable lines, not JSON, on a terminal', async () => {
    const demo = await demoConfig((config) => {
      config.simulators.opcua = [];
      config.devices = config.devices.filter((d) => d.driver !== 'opcua');
      config.mappings = [path.join(repoRoot, 'mappings/press1.json')];
    });
    // `script` gives the gateway a pseudo-terminal as stdout.
    const child = spawn('script', ['-qfec', `${node.join(' ')} ${cli} start -c ${demo.file}`, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitFor(() => /device state/.test(out), 60_000, 'a device state line');
    } finally {
      process.kill(-child.pid!, 'SIGINT');
      await exited;
    }
    const text = out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: MQTT listener open/m);
    expect(text).toMatch(/INFO: device state/);
    expect(text).not.toMatch(/^\{"level"/m);
  }, 90_000);
});
