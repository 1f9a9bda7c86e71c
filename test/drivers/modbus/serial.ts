// Serial-line peers for the RTU tests: a socat pseudo-terminal pair (a virtual null-modem cable)
// and Debian's libmodbus as an independent RTU slave, compiled by the test with gcc.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '../../helpers/net.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface Peer {
  stop(): Promise<void>;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tagwire-rtu-'));
}

async function spawnUntil(
  command: string,
  args: string[],
  ready: () => boolean,
  what: string,
): Promise<Peer> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`${what} exited: ${output}`);
        return ready() || output.includes('ready');
      },
      15_000,
      what,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** Two linked pseudo-terminals: bytes written to one come out of the other. */
export function ptyPair(dir: string): Promise<Peer & { a: string; b: string }> {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  return spawnUntil(
    'socat',
    [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
    () => fs.existsSync(a) && fs.existsSync(b),
    'socat pty pair',
  ).then((peer) => ({ ...peer, a, b }));
}

/** A pseudo-terminal whose other side is a TCP listener: a serial-to-Ethernet converter. */
export function ptyBehindTcp(dir: string, port: number): Promise<Peer & { pty: string }> {
  const pty = path.join(dir, 'converter');
  return spawnUntil(
    'socat',
    [`pty,raw,echo=0,link=${pty}`, `tcp-listen:${port},bind=127.0.0.1,reuseaddr`],
    () => fs.existsSync(pty),
    'socat converter',
  ).then((peer) => ({ ...peer, pty }));
}

let compiled: string | undefined;

/** Compiles the libmodbus slave once per test process. */
export async function libmodbusSlaveBinary(dir: string): Promise<string> {
  if (compiled && fs.existsSync(compiled)) return compiled;
  const out = path.join(dir, 'libmodbus_rtu_slave');
  await promisify(execFile)('gcc', [
    '-O1',
    '-o',
    out,
    path.join(FIXTURES, 'libmodbus_rtu_slave.c'),
    '-I/usr/include/modbus',
    '-lmodbus',
  ]);
  compiled = out;
  return out;
}

export type Values = { table: 'hr' | 'ir' | 'coil' | 'di'; address: number; value: number }[];

export async function libmodbusSlave(
  dir: string,
  serialPath: string,
  unitId: number,
  values: Values,
): Promise<Peer> {
  const binary = await libmodbusSlaveBinary(dir);
  const file = path.join(dir, `values-${unitId}.txt`);
  fs.writeFileSync(file, values.map((v) => `${v.table} ${v.address} ${v.value}`).join('\n') + '\n');
  return spawnUntil(binary, [serialPath, String(unitId), file], () => false, 'libmodbus slave');
}
