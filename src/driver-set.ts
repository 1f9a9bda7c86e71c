// The running drivers, one per enabled device: built from the config's driver registry, fed
// into the gateway's sinks, started once their simulators listen, and replaced on a reload.
import type { Driver, DeviceStatus, DriverModule, TagSample } from '../drivers/types.js';
import { createDriver } from '../drivers/index.js';
import type { DeviceConfig, LoadedMapping } from './config/types.js';
import type { DeviceInfo } from './http/context.js';
import type { Logger } from './log.js';
import type { SimulatorGroup } from './simulator-group.js';

/** Where a driver's output goes. */
export interface DriverSinks {
  onSamples(deviceId: string, batch: TagSample[]): void;
  onRoundTrip(deviceId: string, rttMs: number): void;
  onStatus(status: DeviceStatus): void;
}

export class DriverSet {
  /** By device id: the command router writes through it. */
  readonly byId = new Map<string, Driver>();

  constructor(
    private readonly sinks: DriverSinks,
    private readonly log: Logger,
    private readonly dataDir: string,
  ) {}

  /** Builds (does not start) the driver of `device` with its tags; a disabled device has none. */
  add(
    device: DeviceConfig,
    mappings: readonly LoadedMapping[],
    modules: readonly DriverModule[],
  ): Driver | undefined {
    if (device.enabled === false) return undefined;
    const tags = mappings.filter((m) => m.device === device.id).flatMap((m) => m.tags);
    const id = device.id;
    const driver = createDriver(
      device,
      tags,
      {
        onSamples: (batch) => this.sinks.onSamples(id, batch),
        onRoundTrip: (rttMs) => this.sinks.onRoundTrip(id, rttMs),
        onStatus: (status) => this.sinks.onStatus(status),
        log: this.log.child({ device: id }),
        dataDir: this.dataDir,
      },
      modules,
    );
    this.byId.set(id, driver);
    return driver;
  }

  /**
   * Starts every driver, each once the simulators of its kind listen (a dead device never blocks
   * this: drivers connect in the background); resolves when all simulators are up too.
   */
  async startAll(devices: readonly DeviceConfig[], simulators: SimulatorGroup | undefined): Promise<void> {
    const kindOf = new Map(devices.map((d) => [d.id, d.driver]));
    await Promise.all([
      ...[...this.byId].map(async ([id, driver]) => {
        await simulators?.ready(kindOf.get(id)!);
        await driver.start();
      }),
      simulators?.all(),
    ]);
  }

  /** Stops and forgets the drivers of `ids`. */
  async remove(ids: readonly string[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        await this.byId.get(id)?.stop();
        this.byId.delete(id);
      }),
    );
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.byId.values()].map((d) => d.stop()));
  }

  statuses(): DeviceStatus[] {
    return [...this.byId.values()].map((d) => d.status());
  }

  /** Statuses with their driver names, for the HTTP API and /metrics. */
  infos(devices: readonly DeviceConfig[]): DeviceInfo[] {
    const kindOf = new Map(devices.map((d) => [d.id, d.driver]));
    return this.statuses().flatMap((status) => {
      const driver = kindOf.get(status.deviceId);
      return driver ? [{ ...status, driver }] : [];
    });
  }
}
