// Writes a config and its mapping files into a fresh temp folder for one test.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { ConfigError, formatProblem, loadConfig } from '../../src/config/load.js';

export interface Workspace {
  dir: string;
  file(name: string): string;
  write(name: string, content: unknown): string;
  remove(): void;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-config-'));
  return {
    dir,
    file: (name) => path.join(dir, name),
    write(name, content) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A workspace for the running test, also the working directory; removed when the test ends. */
export function workspaceForTest(): Workspace {
  const ws = workspace();
  process.chdir(ws.dir);
  onTestFinished(() => ws.remove());
  return ws;
}

/** What loading `file` reports, each problem as `tagwire validate` prints it; [] when it loads. */
export async function configProblems(file: string): Promise<string[]> {
  try {
    await loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

export const press1 = {
  id: 'press1',
  driver: 'modbus',
  transport: { type: 'tcp', host: '127.0.0.1', port: 5020 },
  unitId: 1,
};

export function baseConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    gateway: { id: 'edge-test', dataDir: './data' },
    devices: [press1],
    mappings: ['mappings/*.json'],
    ...overrides,
  };
}

export function pressMapping(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    device: 'press1',
    topic: 'acme/plant1/line1/press1',
    defaults: { pollMs: 1000, qos: 1, retain: true },
    tags: [
      { name: 'temperature', address: 'hr:100', type: 'float32', scale: 0.1, unit: 'degC', deadband: 0.5 },
      { name: 'running', address: 'coil:0', type: 'bool', writable: true },
      { name: 'setpoint', address: 'hr:200', type: 'int16', writable: true, min: 0, max: 500 },
    ],
    ...overrides,
  };
}
