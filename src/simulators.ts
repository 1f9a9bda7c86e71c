// The simulated devices of the config's `simulators` block: run inside the demo gateway, or alone
// with `tagwire sim`. Each `simulators.<driver>` list is started by that driver's module, which
// loads its simulator code (OPC UA's stack, in a worker thread) only when one is configured.
import { builtinDrivers } from '../drivers/index.js';
import type { DriverModule, RunningSimulator } from '../drivers/types.js';
import type { GatewayConfig } from './config/types.js';
import type { Logger } from './log.js';

export type { RunningSimulator };

/**
 * Starts every simulator at once (OPC UA's takes a second or more to load its stack and address
 * space; Modbus ones take milliseconds). On any failure the ones that started are closed again.
 * The result keeps the registry's order, then the config's. `drivers`: the registry the config
 * was loaded with (LoadedConfig.drivers).
 */
export async function startSimulators(
  config: GatewayConfig['simulators'],
  log: Logger,
  drivers: readonly DriverModule[] = builtinDrivers,
): Promise<RunningSimulator[]> {
  const starting = drivers.flatMap((driver) =>
    (config[driver.name] ?? []).map(async (sim) => {
      if (!driver.startSimulator) throw new Error(`the ${driver.title} driver has no simulator`);
      return driver.startSimulator(sim, log.child({ sim: driver.name }));
    }),
  );
  const settled = await Promise.allSettled(starting);
  const running = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.allSettled(running.map((s) => s.close()));
    throw failed.reason;
  }
  return running;
}
