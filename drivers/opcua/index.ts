// The OPC UA driver module: one entry of the driver registry (drivers/index.ts). Importing it does
// not load node-opcua; the driver and the simulator load it when they start.
import { defineDriver } from '../define.js';
import type { OpcuaDeviceConfig, OpcuaSimulatorConfig } from './config.js';
import { schemas } from './defaults.js';
import { OpcuaDriver } from './driver.js';
import { checkTag } from './tag.js';

export type { OpcuaDeviceConfig, OpcuaSimulatorConfig, OpcuaTagOptions } from './config.js';
export { OpcuaDriver } from './driver.js';

export const opcuaDriver = defineDriver<OpcuaDeviceConfig, OpcuaSimulatorConfig>(OpcuaDriver, {
  name: 'opcua',
  title: 'OPC UA',
  schemas,
  checkTag,
  // In a worker thread: its ~1.7 s of start-up CPU does not hold up the gateway's event loop.
  startSimulator: async (config, log) =>
    (await import('./simulator/thread.js')).startOpcuaSimulatorThread(config, log),
  probe: async (device, context) => (await import('./probe.js')).probeOpcua(device, context),
});
