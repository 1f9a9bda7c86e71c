// Debian's Mosquitto as a real peer: a broker on its own loopback port, and its CLI clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './net.js';
import { runToEnd, type ProcessResult } from './process.js';

export interface MosquittoBroker {
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `mosquitto` on 127.0.0.1 with the given extra config lines (listener and
 * allow_anonymous are set unless `extraConfig` brings its own listener).
 */
export async function startMosquitto(
  options: { port?: number; extraConfig?: string } = {},
): Promise<MosquittoBroker> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  const extra = options.extraConfig ?? '';
  const listener = /^listener /m.test(extra) ? '' : `listener ${port} 127.0.0.1\nallow_anonymous true\n`;
  writeFileSync(conf, `${listener}persistence false\n${extra}\n`);
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitForPort(port);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`mosquitto did not start on port ${port}: ${stderr || (err as Error).message}`);
  }
  return {
    port,
    dir,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs a command to completion; resolves with its output, whatever its exit code. */
export function run(command: string, args: readonly string[], timeoutMs = 10_000): Promise<ProcessResult> {
  return runToEnd(command, args, { timeoutMs });
}
