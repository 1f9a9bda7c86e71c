// Runs sim-child.ts in its own Node process and waits for it to listen.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SimChild {
  proc: ChildProcess;
  endpointUrl: string;
}

const script = fileURLToPath(new URL('./sim-child.ts', import.meta.url));

export function startSimChild(
  port: number,
  pkiDir: string,
  loadCount = 0,
  loadIntervalMs = 1000,
  timeoutMs = 90_000,
): Promise<SimChild> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', script, String(port), pkiDir, String(loadCount), String(loadIntervalMs)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`simulator child not ready after ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, endpointUrl: m[1]! });
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator child exited (${code}) before it was ready: ${out}`));
    });
  });
}

/** Kills the child and waits until it is gone. */
export async function killChild(child: SimChild, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill(signal);
  await gone;
}
