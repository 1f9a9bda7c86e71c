// The simulated devices of the config's `simulators` block: run inside the demo gateway, or alone
// with `tagwire sim`. OPC UA's stack is loaded only when an OPC UA simulator is configured.
import type { GatewayConfig } from './config/types.js';
import type { Logger } from './log.js';

export interface RunningSimulator {
  /** Where clients reach it: `modbus-tcp://127.0.0.1:5020`, `opc.tcp://127.0.0.1:4840`. */
  address: string;
  close(): Promise<void>;
}

/**
 * Starts every simulator at once (OPC UA's takes a second or more to load its stack and address
 * space; Modbus ones take milliseconds). On any failure the ones that started are closed again.
 * The result keeps the config's order: Modbus ones first, then OPC UA.
 */
export async function startSimulators(
  config: GatewayConfig['simulators'],
  log: Logger,
): Promise<RunningSimulator[]> {
  const modbus = config.modbus ?? [];
  const opcua = config.opcua ?? [];
  const starting: Array<Promise<RunningSimulator>> = [
    ...modbus.map(async (sim) => {
      const { startModbusSimulator } = await import('../drivers/modbus/simulator/index.js');
      const server = await startModbusSimulator(sim, log.child({ sim: 'modbus' }));
      return { address: `modbus-tcp://${server.host}:${server.port}`, close: () => server.close() };
    }),
    ...opcua.map(async (sim) => {
      // In a worker thread: its ~1.7 s of start-up CPU does not hold up the gateway's event loop.
      const { startOpcuaSimulatorThread } = await import('../drivers/opcua/simulator/thread.js');
      const server = await startOpcuaSimulatorThread(sim, log.child({ sim: 'opcua' }));
      return { address: server.endpointUrl, close: () => server.close() };
    }),
  ];
  const settled = await Promise.allSettled(starting);
  const running = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(running.map((s) => s.close()));
    throw failed.reason;
  }
  return running;
}
