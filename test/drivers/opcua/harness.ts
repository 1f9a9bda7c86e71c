// Shared test harness: a simulator in this process and a driver whose samples and statuses are kept.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import {
  startOpcuaSimulator,
  defaultSimulatorPkiDir,
  type RunningOpcuaSimulator,
} from '../../../drivers/opcua/simulator/index.js';
import { withDeviceDefaults, withSimulatorDefaults } from '../../../drivers/opcua/defaults.js';
import { OpcuaDriver } from '../../../drivers/opcua/driver.js';
import type { OpcuaDeviceConfig, OpcuaSimulatorConfig } from '../../../drivers/opcua/config.js';
import type { DeviceStatus, DriverLogger, TagConfig, TagSample } from '../../../drivers/types.js';
import { silentLogger } from '../../../src/log.js';
import { freePort } from '../../helpers/net.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A simulator PKI kept per test file across runs, so the server certificate is made only once. */
export function simPkiDir(name: string): string {
  return path.join(defaultSimulatorPkiDir(), name);
}

export async function startSim(overrides: Partial<OpcuaSimulatorConfig>): Promise<RunningOpcuaSimulator> {
  // A port from this worker's slice, not port 0: the simulator picks a port 0 from the kernel and
  // listens on it later, which another process on the machine can take in between.
  const port = overrides.port ?? (await freePort());
  return startOpcuaSimulator(withSimulatorDefaults({ updateMs: 100, ...overrides, port }), silentLogger());
}

export function tag(name: string, address: string, extra: Partial<TagConfig> = {}): TagConfig {
  return { name, address, type: 'auto', pollMs: 200, writable: false, ...extra };
}

export interface Recorder {
  samples: TagSample[];
  statuses: DeviceStatus[];
  last(name: string): TagSample | undefined;
  log: DriverLogger;
}

export function recorder(): Recorder {
  const samples: TagSample[] = [];
  const statuses: DeviceStatus[] = [];
  const logger = silentLogger();
  return {
    samples,
    statuses,
    last: (name) => samples.findLast((s) => s.tag === name),
    log: logger as unknown as DriverLogger,
  };
}

export function makeDriver(
  device: { id: string; endpointUrl: string } & Partial<OpcuaDeviceConfig>,
  tags: TagConfig[],
  dataDir: string,
  rec: Recorder,
): OpcuaDriver {
  return new OpcuaDriver(withDeviceDefaults({ publishingIntervalMs: 100, ...device }), tags, {
    onSamples: (batch) => rec.samples.push(...batch),
    onStatus: (s) => rec.statuses.push(s),
    log: rec.log,
    dataDir,
  });
}

export interface SimAndDriver {
  /** A data folder of the file's own, removed after it. */
  dataDir: string;
  readonly sim: RunningOpcuaSimulator;
  readonly driver: OpcuaDriver;
  readonly rec: Recorder;
}

/**
 * For the whole test file: a simulator (its PKI kept under `name`) and one started driver on it
 * with `tags`, recorded; stopped and their data folder removed after the file.
 */
export function simAndDriver(
  name: string,
  device: { id: string } & Partial<OpcuaDeviceConfig>,
  tags: TagConfig[],
): SimAndDriver {
  const dataDir = tempDir(`tagwire-opcua-${name}-`);
  let sim: RunningOpcuaSimulator | undefined;
  let driver: OpcuaDriver | undefined;
  const rec = recorder();
  beforeAll(async () => {
    sim = await startSim({ pkiDir: simPkiDir(name) });
    driver = makeDriver({ endpointUrl: sim.endpointUrl, ...device }, tags, dataDir, rec);
    await driver.start();
  }, 90_000);
  afterAll(async () => {
    await driver?.stop();
    await sim?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const started = <T>(part: T | undefined): T => {
    if (part === undefined) throw new Error('the simulator and driver start in beforeAll');
    return part;
  };
  return {
    get sim() {
      return started(sim);
    },
    get driver() {
      return started(driver);
    },
    rec,
    dataDir,
  };
}
