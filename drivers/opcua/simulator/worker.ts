// The OPC UA simulator's thread: node-opcua's import (~0.75 s) and its standard address space
// (~1 s) are CPU work that would otherwise hold the gateway's event loop while the broker and the
// Modbus side start. The parent (thread.ts) talks to it with the messages below.
import { parentPort, workerData } from 'node:worker_threads';
import { pino, type LevelWithSilent } from 'pino';
import type { OpcuaSimulatorConfig } from '../config.js';
import { startOpcuaSimulator, type RunningOpcuaSimulator } from './index.js';

export interface SimulatorThreadData {
  config: OpcuaSimulatorConfig;
  level: LevelWithSilent;
}

/** Worker -> parent. `log` carries one pino JSON line for the parent's logger. */
export type SimulatorThreadEvent =
  | { type: 'log'; line: string }
  | { type: 'up'; endpointUrl: string; port: number; pkiDir: string }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'closed' };

/** Parent -> worker. */
export type SimulatorThreadCommand = { type: 'close' };

const port = parentPort;
if (!port) throw new Error('drivers/opcua/simulator/worker.js runs as a worker thread');
const send = (event: SimulatorThreadEvent): void => port.postMessage(event);
const { config, level } = workerData as SimulatorThreadData;
// Each line goes to the parent, which logs it with its own logger (one stream, one format).
const log = pino({ level, base: undefined }, { write: (line: string) => send({ type: 'log', line }) });

let running: RunningOpcuaSimulator | undefined;
port.on('message', (command: SimulatorThreadCommand) => {
  if (command.type !== 'close') return;
  void (running?.close() ?? Promise.resolve()).finally(() => {
    send({ type: 'closed' });
    port.close();
  });
});
try {
  running = await startOpcuaSimulator(config, log);
  send({ type: 'up', endpointUrl: running.endpointUrl, port: running.port, pkiDir: running.pkiDir });
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  send({ type: 'failed', message: (err as Error).message, ...(code ? { code } : {}) });
}
