// Shared pieces of the Modbus driver tests: a driver context that records what the driver emits,
// tag configs with the defaults the gateway would apply, and drivers and simulators stopped after
// each test.
import { afterEach } from 'vitest';
import { modbusDriver } from '../../../drivers/modbus/index.js';
import type { RunningModbusSimulator } from '../../../drivers/modbus/simulator/index.js';
import type {
  DeviceStatus,
  Driver,
  DriverContext,
  DriverLogger,
  TagConfig,
  TagSample,
} from '../../../drivers/types.js';
import {
  modbusDeviceConfig,
  modbusTagConfig,
  type ModbusDeviceConfig,
} from '../../../drivers/modbus/config.js';
import { waitFor } from '../../helpers/net.js';

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

/**
 * A tag as written, schema not applied: for the semantic checks, which must catch what a tag that
 * the schema would already refuse (an unknown type, a malformed address) gets wrong.
 */
export function rawTag(
  name: string,
  address: string,
  type: string,
  extra: Partial<TagConfig> = {},
): TagConfig {
  return { name, address, type, pollMs: 200, writable: false, ...extra };
}

/** A tag as the config loader hands it over: the Modbus tag schema's defaults applied. */
export function tag(name: string, address: string, type: string, extra: Partial<TagConfig> = {}): TagConfig {
  return modbusTagConfig({ name, address, type, pollMs: 200, writable: false, ...extra });
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

/**
 * Drivers and simulators of a test file, stopped after each test: `driver` starts one on a TCP port
 * and resolves once it is connected; `track` hands a simulator over for stopping.
 */
export function modbusLab() {
  const sims: RunningModbusSimulator[] = [];
  const drivers: Driver[] = [];
  afterEach(async () => {
    await Promise.all(drivers.splice(0).map((d) => d.stop()));
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });
  return {
    track<T extends RunningModbusSimulator>(sim: T): T {
      sims.push(sim);
      return sim;
    },
    async driver(port: number, tags: TagConfig[], extra: Record<string, unknown> = {}) {
      const ctx = recorder();
      const d = modbusDriver.create(tcpDevice(port, extra), tags, ctx);
      drivers.push(d);
      await d.start();
      await waitFor(() => d.status().state === 'connected', 15_000, 'connected');
      return { d, ctx };
    },
  };
}
