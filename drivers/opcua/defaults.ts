// Applies this driver's schema defaults (the one place they live) to device, tag and simulator
// blocks, so the driver, the simulator, tests and benchmarks all see the same defaulted config.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import deviceSchema from './device.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };
import simulatorSchema from './simulator.schema.json' with { type: 'json' };
import type { OpcuaDeviceConfig, OpcuaSimulatorConfig, OpcuaTagOptions } from './config.js';

const ajv = new Ajv2020({ useDefaults: true, allErrors: true, strict: false });
let compiled: { device: ValidateFunction; tag: ValidateFunction; simulator: ValidateFunction } | undefined;

function validators() {
  compiled ??= {
    device: ajv.compile(deviceSchema),
    tag: ajv.compile(tagSchema),
    simulator: ajv.compile(simulatorSchema),
  };
  return compiled;
}

function apply<T>(validate: ValidateFunction, raw: object, what: string): T {
  const copy: unknown = structuredClone(raw);
  if (!validate(copy)) {
    const problems = (validate.errors ?? []).map(
      (e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`,
    );
    throw new Error(`${what}: ${problems.join('; ')}`);
  }
  return copy as T;
}

export function withDeviceDefaults(
  raw: { id: string; endpointUrl: string } & Partial<OpcuaDeviceConfig>,
): OpcuaDeviceConfig {
  return apply<OpcuaDeviceConfig>(
    validators().device,
    { driver: 'opcua', ...raw },
    `OPC UA device ${raw.id}`,
  );
}

export function withTagDefaults<T extends object>(raw: T, where: string): T & OpcuaTagOptions {
  return apply<T & OpcuaTagOptions>(validators().tag, raw, where);
}

export function withSimulatorDefaults(raw: Partial<OpcuaSimulatorConfig>): OpcuaSimulatorConfig {
  return apply<OpcuaSimulatorConfig>(validators().simulator, raw, 'OPC UA simulator');
}
