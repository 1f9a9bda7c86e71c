// Building a driver module (drivers/types.ts DriverModule) from a driver class: every module makes
// one instance of its class per device, so that part is written once, here.
import type { Driver, DriverContext, DriverModule, TagConfig } from './types.js';

/** A driver class: one instance per device, built from the device block, its tags and the context. */
export type DriverClass<Device> = new (
  device: Device,
  tags: readonly TagConfig[],
  ctx: DriverContext,
) => Driver;

/** The module of a driver whose `create` makes an instance of `driver`; `parts` say the rest. */
export function defineDriver<Device, Simulator>(
  driver: DriverClass<Device>,
  parts: Omit<DriverModule<Device, Simulator>, 'create'>,
): DriverModule<Device, Simulator> {
  return { ...parts, create: (device, tags, ctx) => new driver(device, tags, ctx) };
}
