// The gateway of fixtures/gateway.ts as a child process, for tests that must kill it uncleanly
// (SIGKILL: no code of the gateway runs, so what the upstream sees is what a crash leaves).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('../fixtures/gateway.ts', import.meta.url));

/** One status line the child prints every 50 ms. */
export interface Report {
  published: number;
  outbox: number;
  sent: number;
  connected: boolean;
}

export interface ChildGateway {
  child: ChildProcess;
  reports: Report[];
  stderr(): string;
}

/** Starts the child on `dataDir`, bridging to the upstream on `port`; "drain" publishes nothing. */
export function startGateway(dataDir: string, port: number, mode: 'publish' | 'drain'): ChildGateway {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, String(port), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reports: Report[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line) reports.push(JSON.parse(line) as Report);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, reports, stderr: () => stderr };
}

/** Resolves once the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
