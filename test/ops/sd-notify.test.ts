// The systemd notify protocol against a real unix datagram listener standing in for systemd:
// READY=1 once the gateway serves, WATCHDOG=1 at half the watchdog period from the event loop
// (none while the loop is stalled), STOPPING=1 on a clean stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { systemdNotifier, watchdogMs } from '../../src/ops/sd-notify.js';
import { demoConfig } from '../helpers/demo-config.js';
import { waitFor } from '../helpers/net.js';
import { cliSource, envWith, nodeArgs } from './cli.js';

const listenerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/notify-listener.py');

interface Listener {
  socket: string;
  messages: Array<{ at: number; fields: string[] }>;
  process: ChildProcess;
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function notifyListener(): Promise<Listener> {
  const socket = path.join(mkdtempSync(path.join(tmpdir(), 'tagwire-notify-')), 'notify.sock');
  const child = spawn('python3', [listenerScript, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  const listener: Listener = { socket, messages: [], process: child };
  let buffer = '';
  let ready = false;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (line === 'listening') ready = true;
      else {
        const [at, ...fields] = line.split(' ');
        listener.messages.push({ at: Number(at), fields });
      }
    }
  });
  await waitFor(() => ready, 10_000, 'the notify listener');
  return listener;
}

const withField = (l: Listener, field: string) => l.messages.filter((m) => m.fields.includes(field));

describe('watchdogMs', () => {
  it('reads WATCHDOG_USEC, and only when WATCHDOG_PID is ours', () => {
    expect(watchdogMs({ WATCHDOG_USEC: '30000000' })).toBe(30_000);
    expect(watchdogMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) })).toBe(30_000);
    expect(watchdogMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' })).toBeUndefined();
    expect(watchdogMs({})).toBeUndefined();
  });
});

describe('systemdNotifier', () => {
  it('is absent without NOTIFY_SOCKET', () => {
    expect(systemdNotifier({ log: silentLogger(), env: {} })).toBeUndefined();
  });

  it('stops pinging while the event loop is stalled, and pings again after', async () => {
    const listener = await notifyListener();
    const notifier = systemdNotifier({
      log: silentLogger(),
      env: { ...process.env, NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '400000' },
    })!;
    notifier.ready('test');
    await waitFor(() => withField(listener, 'WATCHDOG=1').length >= 3, 15_000, 'watchdog pings');
    const stallStart = Date.now();
    while (Date.now() - stallStart < 2000); // a stalled event loop
    const stallEnd = Date.now();
    const before = withField(listener, 'WATCHDOG=1').length;
    await waitFor(() => withField(listener, 'WATCHDOG=1').length >= before + 2, 15_000, 'pings after');
    notifier.stopping();
    await waitFor(() => withField(listener, 'STOPPING=1').length === 1, 15_000, 'STOPPING=1');
    // No ping was sent from inside the stall: the only ones timed there left before it began.
    const sentDuring = withField(listener, 'WATCHDOG=1').filter(
      (m) => m.at > stallStart + 500 && m.at < stallEnd,
    );
    expect(sentDuring).toEqual([]);
  }, 60_000);
});

describe('tagwire start under a notify socket', () => {
  it('says READY=1 once serving, pings the watchdog, and says STOPPING=1 on SIGTERM', async () => {
    const listener = await notifyListener();
    const demo = await demoConfig();
    const child = spawn(process.execPath, [...nodeArgs, cliSource, 'start', '-c', demo.file], {
      env: envWith({ NOTIFY_SOCKET: listener.socket, WATCHDOG_USEC: '1000000' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(() => withField(listener, 'READY=1').length > 0, 90_000, 'READY=1');
    // Ready comes once the banner (every part started) is out, not before.
    expect(stdout).toContain(`mqtt://127.0.0.1:${demo.mqttPort}`);
    await waitFor(() => withField(listener, 'WATCHDOG=1').length >= 2, 20_000, 'watchdog pings');
    child.kill('SIGTERM');
    expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: '' });
    expect(withField(listener, 'STOPPING=1')).toHaveLength(1);
  }, 120_000);
});
