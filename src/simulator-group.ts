// The config's simulators, started as one group but waited for by driver kind: the demo's Modbus
// side never waits for the OPC UA simulator (~1.7 s of start-up, in its own thread). `tagwire start`
// starts the group before it loads the gateway, so that work overlaps the gateway's own start.
import { builtinDrivers } from '../drivers/index.js';
import type { DriverModule } from '../drivers/types.js';
import type { GatewayConfig } from './config/types.js';
import type { Logger } from './log.js';
import { startSimulators, type RunningSimulator } from './simulators.js';

type SimulatorsConfig = GatewayConfig['simulators'];

export class SimulatorGroup {
  /** Running simulators by driver kind, in the config's order. */
  private readonly running = new Map<string, RunningSimulator[]>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly settled: Promise<unknown>;

  private constructor(
    config: SimulatorsConfig,
    log: Logger,
    starter: typeof startSimulators,
    drivers: readonly DriverModule[],
  ) {
    const none = Object.fromEntries(Object.keys(config).map((kind) => [kind, []]));
    for (const [kind, list] of Object.entries(config)) {
      if (!Array.isArray(list) || list.length === 0) continue;
      this.running.set(kind, []);
      const only = { ...none, [kind]: list } as unknown as SimulatorsConfig;
      this.starting.set(
        kind,
        starter(only, log, drivers).then((running) => void this.running.set(kind, running)),
      );
    }
    // Handlers attached now: a simulator failing while nobody waits yet is no unhandled rejection.
    this.settled = Promise.allSettled(this.starting.values());
  }

  /**
   * Starts every simulator of `config` at once; nothing waits for them here. `drivers`: the
   * registry the config was loaded with (LoadedConfig.drivers).
   */
  static start(
    config: SimulatorsConfig,
    log: Logger,
    starter: typeof startSimulators = startSimulators,
    drivers: readonly DriverModule[] = builtinDrivers,
  ): SimulatorGroup {
    return new SimulatorGroup(config, log, starter, drivers);
  }

  /** Resolves once the simulators of one driver kind listen (at once if it has none); rejects if one failed. */
  ready(kind: string): Promise<void> {
    return this.starting.get(kind) ?? Promise.resolve();
  }

  /** Resolves once every simulator listens; rejects with the first start failure. */
  async all(): Promise<void> {
    await Promise.all(this.starting.values());
  }

  addresses(): string[] {
    return [...this.running.values()].flat().map((s) => s.address);
  }

  /** Closes every simulator, after waiting for any still starting. */
  async close(): Promise<void> {
    await this.settled;
    await Promise.all([...this.running.values()].flat().map((s) => s.close()));
  }
}
