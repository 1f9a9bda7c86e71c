// The schema fragments other components keep beside their code, composed here into the schemas of
// gateway.config.json and of mapping files. A new driver adds one entry to `driverFragments`.
import brokerSchema from '../broker/config.schema.json' with { type: 'json' };
import bridgeSchema from '../bridge/config.schema.json' with { type: 'json' };
import sparkplugSchema from '../sparkplug/mapping.schema.json' with { type: 'json' };
import modbusDeviceSchema from '../../drivers/modbus/device.schema.json' with { type: 'json' };
import modbusTagSchema from '../../drivers/modbus/tag.schema.json' with { type: 'json' };
import modbusSimulatorSchema from '../../drivers/modbus/simulator.schema.json' with { type: 'json' };
import opcuaDeviceSchema from '../../drivers/opcua/device.schema.json' with { type: 'json' };
import opcuaTagSchema from '../../drivers/opcua/tag.schema.json' with { type: 'json' };
import opcuaSimulatorSchema from '../../drivers/opcua/simulator.schema.json' with { type: 'json' };
import type { DriverName } from './types.js';

export type SchemaObject = Record<string, unknown>;

export interface DriverFragments {
  name: DriverName;
  /** `$id` of the driver's device keys. */
  device: string;
  /** `$id` of the driver's tag keys. */
  tag: string;
  /** `$id` of one simulator entry, under `simulators.<name>`. */
  simulator: string;
}

export const driverFragments: readonly DriverFragments[] = [
  {
    name: 'modbus',
    device: 'tagwire://modbus/device',
    tag: 'tagwire://modbus/tag',
    simulator: 'tagwire://modbus/simulator',
  },
  {
    name: 'opcua',
    device: 'tagwire://opcua/device',
    tag: 'tagwire://opcua/tag',
    simulator: 'tagwire://opcua/simulator',
  },
];

/** `$id` of one entry of `bridges`. */
export const bridgeSchemaId = 'tagwire://bridge';

export const foreignSchemas: readonly SchemaObject[] = [
  brokerSchema,
  bridgeSchema,
  sparkplugSchema,
  modbusDeviceSchema,
  modbusTagSchema,
  modbusSimulatorSchema,
  opcuaDeviceSchema,
  opcuaTagSchema,
  opcuaSimulatorSchema,
];
