// The driver registry: the drivers tagwire ships. A new driver is a folder exporting a DriverModule
// (drivers/types.ts) from its index.ts, and one entry here; loadConfig takes another list for
// drivers that live elsewhere (docs/ARCHITECTURE.md, "Adding a driver").
import { modbusDriver } from './modbus/index.js';
import { opcuaDriver } from './opcua/index.js';
import type { DeviceBase, Driver, DriverContext, DriverModule, TagConfig } from './types.js';

export const builtinDrivers: readonly DriverModule[] = [modbusDriver, opcuaDriver];

/** Builds the driver of one device with the registry's module of its `driver`. */
export function createDriver(
  device: DeviceBase,
  tags: readonly TagConfig[],
  ctx: DriverContext,
  drivers: readonly DriverModule[] = builtinDrivers,
): Driver {
  const module = drivers.find((d) => d.name === device.driver);
  if (!module) throw new Error(`device ${device.id}: no driver "${device.driver}" is registered`);
  return module.create(device, tags, ctx);
}
