// The OPC UA driver module: one entry of the driver registry (drivers/index.ts). Importing it does
// not load node-opcua; the driver and the simulator load it when they start.
import type { DriverModule, TagConfig, TagProblem } from '../types.js';
import { OPCUA_NUMERIC_TYPES, type OpcuaDeviceConfig, type OpcuaSimulatorConfig } from './config.js';
import { schemas } from './defaults.js';
import { OpcuaDriver } from './driver.js';
import { nodeIdProblem } from './nodeid.js';

export type { OpcuaDeviceConfig, OpcuaSimulatorConfig, OpcuaTagOptions } from './config.js';
export { OpcuaDriver } from './driver.js';

const NUMERIC: ReadonlySet<string> = new Set(OPCUA_NUMERIC_TYPES);

function checkTag(tag: TagConfig, _device: OpcuaDeviceConfig): TagProblem[] {
  const problems: TagProblem[] = [];
  const idProblem = nodeIdProblem(tag.address);
  if (idProblem) problems.push({ pointer: '/address', message: idProblem });
  const type = typeof tag.type === 'string' ? tag.type : 'auto';
  if ((tag.min !== undefined || tag.max !== undefined) && type !== 'auto' && !NUMERIC.has(type)) {
    problems.push({
      pointer: tag.min !== undefined ? '/min' : '/max',
      message: `min/max apply to numbers, not ${type}`,
    });
  }
  if (tag.min !== undefined && tag.max !== undefined && tag.min > tag.max) {
    problems.push({ pointer: '/min', message: `min ${tag.min} above max ${tag.max}` });
  }
  if (tag.deadbandType === 'percent' && typeof tag.deadbandValue === 'number' && tag.deadbandValue > 100) {
    problems.push({
      pointer: '/deadbandValue',
      message: `a percent deadband is 0..100, not ${tag.deadbandValue}`,
    });
  }
  if (tag.mode === 'poll' && tag.deadbandType !== 'none') {
    problems.push({ pointer: '/deadbandType', message: 'a server-side deadband needs mode "subscribe"' });
  }
  return problems;
}

export const opcuaDriver: DriverModule<OpcuaDeviceConfig, OpcuaSimulatorConfig> = {
  name: 'opcua',
  title: 'OPC UA',
  schemas,
  create: (device, tags, ctx) => new OpcuaDriver(device, tags, ctx),
  checkTag,
  async startSimulator(config, log) {
    // In a worker thread: its ~1.7 s of start-up CPU does not hold up the gateway's event loop.
    const { startOpcuaSimulatorThread } = await import('./simulator/thread.js');
    const server = await startOpcuaSimulatorThread(config, log);
    return { address: server.endpointUrl, close: () => server.close() };
  },
  probe: async (device, context) => (await import('./probe.js')).probeOpcua(device, context),
};
