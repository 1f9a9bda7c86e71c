// The Modbus driver module: what drivers/index.ts registers under the name "modbus".
import type { DriverModule } from '../types.js';
import type { ModbusDeviceConfig } from './config.js';
import { ModbusDriver } from './driver.js';
import { checkTag } from './tag.js';

export const modbusDriver: DriverModule<ModbusDeviceConfig> = {
  name: 'modbus',
  create: (device, tags, ctx) => new ModbusDriver(device, tags, ctx),
  checkTag,
};

export type { ModbusDeviceConfig, ModbusSimulatorConfig } from './config.js';
export { modbusDeviceConfig, modbusSimulatorConfig } from './config.js';
export { startModbusSimulator } from './simulator/index.js';
