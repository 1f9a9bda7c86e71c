// The Modbus driver module: one entry of the driver registry (drivers/index.ts).
import type { DriverModule } from '../types.js';
import { schemas, type ModbusDeviceConfig, type ModbusSimulatorConfig } from './config.js';
import { ModbusDriver } from './driver.js';
import { checkTag } from './tag.js';

export const modbusDriver: DriverModule<ModbusDeviceConfig, ModbusSimulatorConfig> = {
  name: 'modbus',
  title: 'Modbus',
  schemas,
  create: (device, tags, ctx) => new ModbusDriver(device, tags, ctx),
  checkTag,
  async startSimulator(config, log) {
    const { startModbusSimulator } = await import('./simulator/index.js');
    const server = await startModbusSimulator(config, log);
    return {
      address: server.path ? `modbus-rtu://${server.path}` : `modbus-tcp://${server.host}:${server.port}`,
      close: () => server.close(),
    };
  },
  probe: async (device, context) => (await import('./probe.js')).probeModbus(device, context),
};

export type { ModbusDeviceConfig, ModbusSimulatorConfig } from './config.js';
