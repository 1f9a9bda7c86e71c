// The Modbus driver module: one entry of the driver registry (drivers/index.ts).
import { defineDriver } from '../define.js';
import { schemas, type ModbusDeviceConfig, type ModbusSimulatorConfig } from './config.js';
import { ModbusDriver } from './driver.js';
import { checkTag } from './tag.js';

export const modbusDriver = defineDriver<ModbusDeviceConfig, ModbusSimulatorConfig>(ModbusDriver, {
  name: 'modbus',
  title: 'Modbus',
  schemas,
  checkTag,
  startSimulator: async (config, log) =>
    (await import('./simulator/index.js')).startModbusSimulator(config, log),
  probe: async (device, context) => (await import('./probe.js')).probeModbus(device, context),
});

export type { ModbusDeviceConfig, ModbusSimulatorConfig } from './config.js';
