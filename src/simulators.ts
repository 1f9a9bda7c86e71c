// The simulated devices of the config's `simulators` block: run inside the demo gateway, or alone
// with `tagwire sim`. OPC UA's stack is loaded only when an OPC UA simulator is configured.
import type { GatewayConfig } from './config/types.js';
import type { Logger } from './log.js';
import { startModbusSimulator } from '../drivers/modbus/simulator/index.js';

export interface RunningSimulator {
  /** Where clients reach it: `modbus-tcp://127.0.0.1:5020`, `opc.tcp://127.0.0.1:4840`. */
  address: string;
  close(): Promise<void>;
}

export async function startSimulators(
  config: GatewayConfig['simulators'],
  log: Logger,
): Promise<RunningSimulator[]> {
  const running: RunningSimulator[] = [];
  try {
    for (const sim of config.modbus ?? []) {
      const server = await startModbusSimulator(sim, log.child({ sim: 'modbus' }));
      running.push({ address: `modbus-tcp://${server.host}:${server.port}`, close: () => server.close() });
    }
    if ((config.opcua ?? []).length > 0) {
      const { startOpcuaSimulator } = await import('../drivers/opcua/simulator/index.js');
      for (const sim of config.opcua ?? []) {
        const server = await startOpcuaSimulator(sim, log.child({ sim: 'opcua' }));
        running.push({ address: server.endpointUrl, close: () => server.close() });
      }
    }
  } catch (err) {
    await Promise.allSettled(running.map((s) => s.close()));
    throw err;
  }
  return running;
}
