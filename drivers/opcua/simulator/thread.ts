// Runs the OPC UA simulator in a worker thread (worker.ts), so its start-up CPU (node-opcua's import
// and standard address space, ~1.7 s) runs beside the gateway's event loop instead of on it.
import { Worker } from 'node:worker_threads';
import type { DriverLogger, RunningSimulator } from '../../types.js';
import type { OpcuaSimulatorConfig } from '../config.js';
import { relayEntry } from './log-relay.js';
import type { SimulatorThreadCommand, SimulatorThreadData, SimulatorThreadEvent } from './worker.js';

/** `address` is the endpoint URL. */
export interface OpcuaSimulatorThread extends RunningSimulator {
  endpointUrl: string;
  port: number;
  pkiDir: string;
}

/** Resolves once the simulator listens; rejects with its start error (the `code`, e.g. EADDRINUSE, kept). */
export function startOpcuaSimulatorThread(
  config: OpcuaSimulatorConfig,
  log: DriverLogger,
): Promise<OpcuaSimulatorThread> {
  // From the TypeScript sources (vitest, tsx) a worker would need tsx's loader, which Node 20 does
  // not install in worker threads: there the simulator runs in this thread, as before.
  if (import.meta.url.endsWith('.ts'))
    return import('./index.js').then((m) => m.startOpcuaSimulator(config, log));
  const workerData: SimulatorThreadData = {
    config,
    level: log.level ?? 'info',
  };
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData });
  let exited = false;
  worker.once('exit', () => (exited = true));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      if (exited) return resolve();
      const done = (): void => void worker.terminate().then(() => resolve());
      worker.once('exit', () => resolve());
      worker.on('message', (event: SimulatorThreadEvent) => event.type === 'closed' && done());
      worker.postMessage({ type: 'close' } satisfies SimulatorThreadCommand);
    }));

  return new Promise((resolve, reject) => {
    let started = false;
    let failure: NodeJS.ErrnoException | undefined;
    worker.on('message', (event: SimulatorThreadEvent) => {
      switch (event.type) {
        case 'log':
          relayEntry(log, event.entry);
          return;
        case 'up':
          started = true;
          resolve({
            address: event.endpointUrl,
            endpointUrl: event.endpointUrl,
            port: event.port,
            pkiDir: event.pkiDir,
            close,
          });
          return;
        case 'failed': {
          failure = new Error(event.message) as NodeJS.ErrnoException;
          if (event.code) failure.code = event.code;
          void worker.terminate();
          return;
        }
      }
    });
    worker.once('error', (err) => {
      if (!started) reject(err);
      else log.error({ err }, 'OPC UA simulator thread failed');
    });
    worker.once('exit', (code) => {
      if (!started)
        reject(failure ?? new Error(`OPC UA simulator thread exited (code ${code}) before it listened`));
    });
  });
}
