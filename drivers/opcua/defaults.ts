// Applies this driver's schema defaults (the one place they live) to device, tag and simulator
// blocks, so the driver, the simulator, tests and benchmarks all see the same defaulted config.
import { defaultsApplier } from '../json-schema.js';
import type { SchemaDocument } from '../types.js';
import deviceSchema from './device.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };
import simulatorSchema from './simulator.schema.json' with { type: 'json' };
import type { OpcuaDeviceConfig, OpcuaSimulatorConfig, OpcuaTagOptions } from './config.js';

/** The driver's schema fragments (the gateway composes them into the config's schemas). */
export const schemas: Record<'device' | 'tag' | 'simulator', SchemaDocument> = {
  device: deviceSchema,
  tag: tagSchema,
  simulator: simulatorSchema,
};

const deviceDefaults = defaultsApplier<OpcuaDeviceConfig>(deviceSchema);
const tagDefaults = defaultsApplier<OpcuaTagOptions>(tagSchema);
const simulatorDefaults = defaultsApplier<OpcuaSimulatorConfig>(simulatorSchema);

export function withDeviceDefaults(
  raw: { id: string; endpointUrl: string } & Partial<OpcuaDeviceConfig>,
): OpcuaDeviceConfig {
  return deviceDefaults({ driver: 'opcua', ...raw }, `OPC UA device ${raw.id}`);
}

export function withTagDefaults<T extends object>(raw: T, where: string): T & OpcuaTagOptions {
  return tagDefaults(raw, where) as T & OpcuaTagOptions;
}

export function withSimulatorDefaults(raw: Partial<OpcuaSimulatorConfig>): OpcuaSimulatorConfig {
  return simulatorDefaults(raw, 'OPC UA simulator');
}
