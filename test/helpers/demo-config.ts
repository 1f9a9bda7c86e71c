// The demo gateway.config.json, moved onto free loopback ports and a temporary data directory,
// so end-to-end tests run the real demo beside each other and beside a running `npm start`.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface DemoConfig {
  file: string;
  dir: string;
  mqttPort: number;
  wsPort: number;
  modbusPort: number;
  opcuaPort: number;
  httpPort: number;
}

interface DemoJson {
  gateway: { dataDir: string };
  broker: { listeners: Array<{ protocol: string; port: number }> };
  devices: Array<{ id: string; driver: string; transport?: { port: number }; endpointUrl?: string }>;
  mappings: string[];
  simulators: { modbus: Array<{ port: number }>; opcua: Array<{ port: number }> };
  http: { host: string; port: number } & Record<string, unknown>;
}

/** Writes a copy of the demo config with fresh ports; `edit` may change it further. */
export async function demoConfig(
  edit?: (config: DemoJson & Record<string, unknown>) => void,
): Promise<DemoConfig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-demo-'));
  const config = JSON.parse(readFileSync(path.join(repoRoot, 'gateway.config.json'), 'utf8')) as DemoJson &
    Record<string, unknown>;
  const [mqttPort, wsPort, modbusPort, opcuaPort, httpPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  config.gateway.dataDir = path.join(dir, 'data');
  for (const listener of config.broker.listeners)
    listener.port = listener.protocol === 'ws' ? wsPort : mqttPort;
  for (const device of config.devices) {
    if (device.transport) device.transport.port = modbusPort;
    if (device.endpointUrl) device.endpointUrl = `opc.tcp://127.0.0.1:${opcuaPort}`;
  }
  config.mappings = config.mappings.map((pattern) => path.join(repoRoot, pattern));
  config.simulators.modbus[0]!.port = modbusPort;
  config.simulators.opcua[0]!.port = opcuaPort;
  config.http.port = httpPort;
  edit?.(config);
  const file = path.join(dir, 'gateway.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, dir, mqttPort, wsPort, modbusPort, opcuaPort, httpPort };
}
