// The OPC UA simulator's thread: node-opcua's import (~0.75 s) and its standard address space
// (~1 s) are CPU work that would otherwise hold the gateway's event loop while the broker and the
// Modbus side start. The parent (thread.ts) talks to it with the messages below.
import { parentPort, workerData } from 'node:worker_threads';
import type { OpcuaSimulatorConfig } from '../config.js';
import { startOpcuaSimulator, type RunningOpcuaSimulator } from './index.js';
import { postingLogger, type RelayedEntry } from './log-relay.js';

export interface SimulatorThreadData {
  config: OpcuaSimulatorConfig;
  /** The parent logger's level (pino's names): entries below it are not posted. */
  level: string;
}

/** Worker -> parent. `log` carries one log call for the parent's DriverLogger. */
export type SimulatorThreadEvent =
  | { type: 'log'; entry: RelayedEntry }
  | { type: 'up'; endpointUrl: string; port: number; pkiDir: string }
  | { type: 'failed'; message: string; code?: string }
  | { type: 'closed' };

/** Parent -> worker. */
export type SimulatorThreadCommand = { type: 'close' };

const port = parentPort;
if (!port) throw new Error('drivers/opcua/simulator/worker.js runs as a worker thread');
const send = (event: SimulatorThreadEvent): void => port.postMessage(event);
const { config, level } = workerData as SimulatorThreadData;
// Each entry goes to the parent, which logs it with the DriverLogger it was given.
const log = postingLogger(level, (entry) => send({ type: 'log', entry }));

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
