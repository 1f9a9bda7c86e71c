// Starts Debian's pymodbus (an independent Modbus TCP server) on a loopback port with known values.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForPort } from '../../helpers/net.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pymodbus_server.py');

export interface PymodbusSpec {
  unit?: number;
  hr?: Record<number, number>;
  ir?: Record<number, number>;
  coil?: Record<number, number>;
  di?: Record<number, number>;
}

export interface RunningPymodbus {
  port: number;
  stop(): Promise<void>;
}

export async function startPymodbus(port: number, spec: PymodbusSpec): Promise<RunningPymodbus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagwire-pymodbus-'));
  const file = path.join(dir, 'values.json');
  fs.writeFileSync(file, JSON.stringify(spec));
  const child: ChildProcess = spawn('/usr/bin/python3', [SCRIPT, String(port), file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 20_000),
      exited.then(() => {
        throw new Error(`pymodbus exited early: ${stderr}`);
      }),
    ]);
  } catch (err) {
    if (err instanceof Error) err.message += `; pymodbus said: ${stderr.trim() || 'nothing'}`;
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
