// The registered drivers, by the `driver` name devices use in the config.
import type { DeviceConfig } from '../src/config/types.js';
import { modbusDriver } from './modbus/index.js';
import { opcuaDriver } from './opcua/index.js';
import type { Driver, DriverContext, DriverModule, TagConfig, TagProblem } from './types.js';

export const driverNames = [modbusDriver.name, opcuaDriver.name] as const;

/** Builds the driver of one configured device. */
export function createDriver(device: DeviceConfig, tags: readonly TagConfig[], ctx: DriverContext): Driver {
  switch (device.driver) {
    case 'modbus':
      return modbusDriver.create(device, tags, ctx);
    case 'opcua':
      return opcuaDriver.create(device, tags, ctx);
  }
}

/** The driver's own semantic checks of a tag against its device. */
export function checkTag(device: DeviceConfig, tag: TagConfig): TagProblem[] {
  switch (device.driver) {
    case 'modbus':
      return modbusDriver.checkTag(tag, device);
    case 'opcua':
      return opcuaDriver.checkTag(tag, device);
  }
}

/** Every driver module by name, for code that handles devices generically. */
export const driverModules: Record<string, DriverModule<never>> = {
  [modbusDriver.name]: modbusDriver,
  [opcuaDriver.name]: opcuaDriver,
};
