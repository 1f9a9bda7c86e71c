// A driver that lives outside drivers/: one folder (schemas, driver, simulator) and this module.
// Registered by handing loadConfig the list `[...builtinDrivers, tankDriver]`; no other file knows it.
import type { DriverModule, TagConfig, TagProblem } from '../../../drivers/types.js';
import deviceSchema from './device.schema.json' with { type: 'json' };
import simulatorSchema from './simulator.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };
import { TankDriver } from './driver.js';
import { startTankSimulator } from './simulator.js';
import type { TankDeviceConfig, TankSimulatorConfig } from './types.js';

/** What the tank holds: a tag naming anything else is a mistake the schema cannot see. */
const TANK_VALUES: ReadonlySet<string> = new Set(['level', 'valve']);

export const tankDriver: DriverModule<TankDeviceConfig, TankSimulatorConfig> = {
  name: 'tank',
  title: 'Tank',
  schemas: { device: deviceSchema, tag: tagSchema, simulator: simulatorSchema },
  create: (device, tags, ctx) => new TankDriver(device, tags, ctx),
  checkTag(tag: TagConfig): TagProblem[] {
    return TANK_VALUES.has(tag.address)
      ? []
      : [{ pointer: '/address', message: `the tank has no value "${tag.address}" (level, valve)` }];
  },
  startSimulator: (config, log) => startTankSimulator(config, log),
};
