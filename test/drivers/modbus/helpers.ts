// Shared pieces of the Modbus driver tests: a driver context that records what the driver emits,
// and tag configs with the defaults the gateway would apply.
import type {
  DeviceStatus,
  DriverContext,
  DriverLogger,
  TagConfig,
  TagSample,
} from '../../../drivers/types.js';
import { modbusDeviceConfig, type ModbusDeviceConfig } from '../../../drivers/modbus/config.js';

export interface Recorder extends DriverContext {
  batches: TagSample[][];
  statuses: DeviceStatus[];
  /** The latest sample of a tag. */
  latest(tag: string): TagSample | undefined;
  /** Every sample of a tag, oldest first. */
  all(tag: string): TagSample[];
}

const quietLog: DriverLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => quietLog,
};

export function recorder(): Recorder {
  const batches: TagSample[][] = [];
  const statuses: DeviceStatus[] = [];
  return {
    batches,
    statuses,
    onSamples: (batch) => batches.push(batch),
    onStatus: (status) => statuses.push(status),
    log: quietLog,
    dataDir: '/nonexistent',
    latest: (tag) =>
      batches
        .flat()
        .filter((s) => s.tag === tag)
        .at(-1),
    all: (tag) => batches.flat().filter((s) => s.tag === tag),
  };
}

export function tag(name: string, address: string, type: string, extra: Partial<TagConfig> = {}): TagConfig {
  return { name, address, type, pollMs: 200, writable: false, ...extra };
}

export function tcpDevice(port: number, extra: Record<string, unknown> = {}): ModbusDeviceConfig {
  return modbusDeviceConfig({
    id: 'dev',
    transport: { type: 'tcp', host: '127.0.0.1', port },
    timeoutMs: 500,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
    ...extra,
  });
}
