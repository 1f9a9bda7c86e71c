// The composition root: builds every part from a loaded config and owns the start/stop order.
// Parts talk through small interfaces (LocalBroker, Driver); this file is the only one that knows
// them all.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Driver, DeviceStatus, TagSample } from '../drivers/types.js';
import { createDriver } from '../drivers/index.js';
import { Broker } from './broker/broker.js';
import { BridgeManager, refuseWhileRestarting } from './bridge/manager.js';
import { diffConfig, type ConfigDiff } from './config/diff.js';
import { formatProblem, type LoadedConfig } from './config/load.js';
import type { DeviceConfig, LoadedMapping } from './config/types.js';
import { watchConfig, type ConfigWatcher, type ReloadResult } from './config/watch.js';
import type { Logger } from './log.js';
import { CommandRouter } from './mapping/commands.js';
import { TagPublisher } from './mapping/publisher.js';
import { SparkplugManager } from './sparkplug/manager.js';
import { AuditLog } from './mapping/audit.js';
import { checkDataFolder, recordDataVersion } from './store/data-folder.js';
import { currentSchema } from './data-schema.js';
import { Database } from './store/db.js';
import { SimulatorGroup } from './simulator-group.js';
import type { DeviceInfo, HttpGateway, Readiness } from './http/context.js';
import { LatestValues } from './http/latest-values.js';
import { GatewayMetrics } from './http/metrics.js';
import { packageVersion } from './package-root.js';
import { HttpServer } from './http/server.js';
import { RELEASE } from './version.js';

export interface GatewayOptions {
  log: Logger;
  /**
   * Run the config's `simulators` block inside the gateway (the demo). Default true. A group already
   * started (by `tagwire start`, before it loaded this module) is adopted: the gateway stops it.
   */
  simulators?: boolean | SimulatorGroup;
  /** Apply edits of the config and mapping files while running. Default false. */
  watch?: boolean;
  /** Quiet time after the last file event before a reload (ms). */
  watchDebounceMs?: number;
  /** Folder of the built web console; default dist/web of the package. */
  webRoot?: string;
}

type Stage = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Gateway {
  private stage: Stage = 'created';
  private db?: Database;
  private audit?: AuditLog;
  private simulators?: SimulatorGroup;
  private publisher?: TagPublisher;
  private router?: CommandRouter;
  private bridges?: BridgeManager;
  private sparkplug?: SparkplugManager;
  private readonly drivers = new Map<string, Driver>();
  private readonly deviceStatus = new Map<string, DeviceStatus>();
  private localBroker?: Broker;
  private watcher?: ConfigWatcher;
  private statusTimer?: NodeJS.Timeout;
  /** Reloads run one after the other, in the order the edits settled. */
  private reloading: Promise<unknown> = Promise.resolve();
  private http?: HttpServer;
  /** What start is doing, for /readyz while not running. */
  private startingStep = 'not started';
  private readonly startedAt = Date.now();
  /** The latest sample of every tag (HTTP API, live events). */
  readonly latest = new LatestValues();
  readonly metrics = new GatewayMetrics({
    broker: () => this.localBroker,
    devices: () => this.deviceInfos(),
    bridges: () => this.bridges?.status() ?? [],
    sampleCounts: () => this.latest.sampleCounts(),
  });

  constructor(
    private current: LoadedConfig,
    private readonly options: GatewayOptions,
  ) {}

  /** The config running now (after any hot reloads). */
  get loaded(): LoadedConfig {
    return this.current;
  }

  /** The embedded broker; exists once `start` has opened the store. */
  get broker(): Broker {
    if (!this.localBroker) throw new Error('the gateway has not started');
    return this.localBroker;
  }

  /** The command audit log; exists once `start` has opened the store. */
  get auditLog(): AuditLog {
    if (!this.audit) throw new Error('the gateway has not started');
    return this.audit;
  }

  get dataDir(): string {
    return this.loaded.config.gateway.dataDir;
  }

  /** Starts every part; on a failure, stops what had started and rethrows. */
  async start(): Promise<void> {
    if (this.stage !== 'created') throw new Error(`gateway cannot start from stage ${this.stage}`);
    this.stage = 'starting';
    try {
      await this.startParts();
      this.stage = 'running';
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startParts(): Promise<void> {
    const { config, mappings } = this.loaded;
    const log = this.options.log;
    // The simulators start first, beside everything else (OPC UA's takes a second or more, in
    // its own thread); a driver waits only for the simulators of its own kind.
    const sims = this.options.simulators;
    this.simulators =
      sims instanceof SimulatorGroup
        ? sims
        : sims !== false
          ? SimulatorGroup.start(
              config.simulators,
              log.child({ part: 'sim' }),
              undefined,
              this.loaded.drivers,
            )
          : undefined;
    // A data folder from a newer release is refused before anything opens it.
    await checkDataFolder(this.dataDir, RELEASE, currentSchema());
    // HTTP first: /healthz and /readyz (503 with the step) answer while the rest starts.
    if (config.http.enabled) {
      this.http = new HttpServer({
        config: config.http,
        users: config.broker.users,
        gateway: this.httpView(),
        metrics: this.metrics,
        log: log.child({ part: 'http' }),
        version: packageVersion(),
        webRoot: this.options.webRoot,
      });
      await this.http.start();
    }
    this.startingStep = 'opening the store';
    await mkdir(this.dataDir, { recursive: true });
    this.db = await Database.open(path.join(this.dataDir, 'tagwire.db'));
    this.startingStep = 'starting the broker';
    this.localBroker = new Broker({
      config: config.broker,
      db: this.db,
      log: log.child({ part: 'broker' }),
    });
    // The store and sessions now; the network listeners once everything that takes messages is subscribed.
    await this.localBroker.open();
    this.startingStep = 'starting the command router and bridges';

    this.audit = await AuditLog.open(this.db!, {
      retentionDays: config.gateway.auditRetentionDays,
      file: path.join(this.dataDir, 'tagwire.db'),
      log: log.child({ part: 'audit' }),
    });
    this.publisher = new TagPublisher({
      gatewayId: config.gateway.id,
      mappings: jsonMappings(mappings),
      broker: this.broker,
      log: log.child({ part: 'mapping' }),
    });
    // The publisher keeps the newest sample of the tags it publishes: one record a tag, not two.
    this.latest.shareWith(this.publisher);
    for (const device of config.devices) this.createDriver(device, mappings);
    this.router = new CommandRouter({
      mappings,
      broker: this.broker,
      drivers: this.drivers,
      audit: this.audit,
      log: log.child({ part: 'commands' }),
      publishSamples: (deviceId, samples) => {
        this.publisher?.publishNow(deviceId, samples);
        this.sparkplug?.onSamples(deviceId, samples);
        this.latest.onSamples(deviceId, samples);
      },
      onCommand: (device, outcome, ms) => this.metrics.observeCommand(device, outcome, ms),
    });
    this.router.start();
    this.sparkplug = new SparkplugManager({
      gatewayId: config.gateway.id,
      dataDir: this.dataDir,
      broker: this.broker,
      bridges: config.bridges,
      deviceState: (id) => this.drivers.get(id)?.status().state,
      log: log.child({ part: 'sparkplug' }),
    });
    await this.sparkplug.start(mappings);

    await this.rebuildBridges(this.loaded);
    // Every store has migrated: record the schema so an older release refuses this folder.
    await recordDataVersion(this.dataDir, RELEASE, currentSchema());
    await this.broker.listen();

    // Drivers last: by now every sample has somewhere to go. A dead device never blocks this; a
    // device of a kind the config simulates starts once those simulators listen. Ready means every
    // simulator is up and every driver started (connecting in the background).
    this.startingStep = 'starting the drivers and simulators';
    const driverOf = new Map(config.devices.map((d) => [d.id, d.driver]));
    await Promise.all([
      ...[...this.drivers].map(async ([id, driver]) => {
        await this.simulators?.ready(driverOf.get(id)!);
        await driver.start();
      }),
      this.simulators?.all(),
    ]);

    this.startStatusTimer(config.gateway.statusIntervalSec);

    if (this.options.watch) {
      this.watcher = watchConfig(this.current.file, (result) => this.onConfigEdit(result), {
        current: this.current,
        debounceMs: this.options.watchDebounceMs,
      });
    }
  }

  private onConfigEdit(result: ReloadResult): void {
    const log = this.options.log;
    if (!result.ok) {
      for (const problem of result.problems) log.error(formatProblem(problem));
      log.error(`config edit rejected (${result.problems.length} problem(s)); the running config stays`);
      return;
    }
    this.reloading = this.reloading
      .then(() => this.reload(result.loaded))
      .catch((err: unknown) => log.error({ err }, 'hot reload failed'));
  }

  /**
   * Applies a new config without a restart where it can: only devices whose driver config or tags
   * changed are rebuilt; mapping and command changes apply in place (retained messages of removed
   * tags are cleared). Bridges are rebuilt; broker, http and simulator blocks apply at the next restart.
   */
  async reload(next: LoadedConfig): Promise<ConfigDiff> {
    if (this.stage !== 'running') throw new Error(`gateway cannot reload while ${this.stage}`);
    const diff = diffConfig(this.current, next);
    if (diff.empty) return diff;
    const log = this.options.log;
    // Bridges are rebuilt in place (their outboxes are on disk: nothing queued is lost).
    const blocks = Object.entries(diff.restart)
      .filter(([block, changed]) => changed && block !== 'bridges')
      .map(([block]) => block);
    if (blocks.length > 0) log.warn({ blocks }, 'these config blocks changed and apply at the next restart');
    if (diff.restart.bridges) await this.rebuildBridges(next);
    const rebuilt = [...diff.devices.removed, ...diff.devices.changed];
    await Promise.all(
      rebuilt.map(async (id) => {
        await this.drivers.get(id)?.stop();
        this.drivers.delete(id);
      }),
    );
    for (const id of diff.devices.removed) {
      this.clearDeviceStatus(id);
      this.latest.forget(id);
    }
    this.current = next;
    this.publisher?.update(jsonMappings(next.mappings));
    this.router?.update(next.mappings);
    await this.sparkplug?.update(next.mappings);
    const started: Driver[] = [];
    for (const id of [...diff.devices.added, ...diff.devices.changed]) {
      const device = next.config.devices.find((d) => d.id === id);
      const driver = device && this.createDriver(device, next.mappings);
      if (driver) started.push(driver);
      else this.clearDeviceStatus(id);
    }
    await Promise.all(started.map((driver) => driver.start()));
    log.info(
      {
        devices: diff.devices,
        tags: {
          added: diff.tags.added.length,
          removed: diff.tags.removed.length,
          changed: diff.tags.changed.length,
        },
      },
      'config reloaded',
    );
    return diff;
  }

  /** (Re)starts the bridges of `loaded`, after stopping the running ones. */
  private async rebuildBridges(loaded: LoadedConfig): Promise<void> {
    // A reload: clients are connected, and nothing may be acknowledged that no bridge stores.
    const release = this.bridges
      ? refuseWhileRestarting(this.broker, [...this.current.config.bridges, ...loaded.config.bridges])
      : undefined;
    try {
      await this.bridges?.stop();
      this.bridges = new BridgeManager({
        bridges: loaded.config.bridges,
        gatewayId: loaded.config.gateway.id,
        broker: this.broker,
        log: this.options.log.child({ part: 'bridge' }),
        dataDir: this.dataDir,
      });
      await this.bridges.start();
    } finally {
      release?.();
    }
  }

  private createDriver(device: DeviceConfig, mappings: readonly LoadedMapping[]): Driver | undefined {
    if (device.enabled === false) return undefined;
    const tags = mappings.filter((m) => m.device === device.id).flatMap((m) => m.tags);
    const driver = createDriver(
      device,
      tags,
      {
        onSamples: (batch: TagSample[]) => {
          this.publisher?.onSamples(device.id, batch);
          this.sparkplug?.onSamples(device.id, batch);
          this.latest.onSamples(device.id, batch);
        },
        onRoundTrip: (rttMs) => this.metrics.observeRoundTrip(device.id, rttMs),
        onStatus: (status: DeviceStatus) => this.onDeviceStatus(status),
        log: this.options.log.child({ device: device.id }),
        dataDir: this.dataDir,
      },
      this.loaded.drivers,
    );
    this.drivers.set(device.id, driver);
    return driver;
  }

  /** Device status also on a timer, so `$SYS/tagwire/devices/{id}` counters never go stale. */
  private startStatusTimer(intervalSec: number): void {
    if (intervalSec <= 0) return;
    this.statusTimer = setInterval(() => {
      for (const driver of this.drivers.values()) this.publishDeviceStatus(driver.status());
    }, intervalSec * 1000);
    this.statusTimer.unref();
  }

  /** Device health goes to `$SYS/tagwire/devices/{id}`, retained, for dashboards and the plant. */
  private onDeviceStatus(status: DeviceStatus): void {
    const previous = this.deviceStatus.get(status.deviceId);
    if (previous?.state !== status.state) this.sparkplug?.onDeviceStatus(status);
    if (previous?.state !== status.state) {
      // A connected or cleanly stopped device has no error to tell, whatever it last saw.
      const quiet = status.state === 'connected' || status.state === 'stopped';
      this.options.log.info(
        { device: status.deviceId, state: status.state, ...(quiet ? {} : { error: status.lastError }) },
        'device state',
      );
    }
    this.publishDeviceStatus(status);
  }

  private publishDeviceStatus(status: DeviceStatus): void {
    this.deviceStatus.set(status.deviceId, status);
    this.localBroker?.publish({
      topic: `$SYS/tagwire/devices/${status.deviceId}`,
      payload: Buffer.from(JSON.stringify(status)),
      qos: 0,
      retain: true,
    });
  }

  simulatorAddresses(): string[] {
    return this.simulators?.addresses() ?? [];
  }

  private clearDeviceStatus(id: string): void {
    this.deviceStatus.delete(id);
    this.localBroker?.publish({
      topic: `$SYS/tagwire/devices/${id}`,
      payload: Buffer.alloc(0),
      qos: 0,
      retain: true,
    });
  }

  devices(): DeviceStatus[] {
    return [...this.drivers.values()].map((d) => d.status());
  }

  /** Device statuses with their driver names, for the HTTP API and /metrics. */
  private deviceInfos(): DeviceInfo[] {
    const driverOf = new Map(this.current.config.devices.map((d) => [d.id, d.driver]));
    return this.devices().flatMap((status) => {
      const driver = driverOf.get(status.deviceId);
      return driver ? [{ ...status, driver }] : [];
    });
  }

  /** The HTTP API's base URL once it listens (e.g. http://127.0.0.1:8080). */
  get httpAddress(): string | undefined {
    return this.http?.address;
  }

  readiness(): Readiness {
    switch (this.stage) {
      case 'running':
        return { ready: true };
      case 'created':
      case 'starting':
        return { ready: false, reason: `starting: ${this.startingStep}` };
      default:
        return { ready: false, reason: this.stage };
    }
  }

  /** Applies a config after any reload in progress (the HTTP API's mapping edits). */
  private applyConfig(next: LoadedConfig): Promise<ConfigDiff> {
    const run = this.reloading.then(() => this.reload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /** What the HTTP server sees of the gateway. */
  private httpView(): HttpGateway {
    return {
      id: this.current.config.gateway.id,
      startedAt: this.startedAt,
      latest: this.latest,
      config: () => this.current,
      readiness: () => this.readiness(),
      devices: () => this.deviceInfos(),
      bridges: () => this.bridges?.status() ?? [],
      broker: () => this.broker,
      command: (topic, payload, who) => this.router?.submit(topic, payload, who),
      audit: (filter) => {
        if (!this.audit) return Promise.reject(new Error('the audit log is not open'));
        return this.audit.query(filter);
      },
      reload: (next) => this.applyConfig(next),
    };
  }

  /** Stops in the reverse order of start: devices, commands, clients, bridge, broker, store. Idempotent. */
  async stop(): Promise<void> {
    if (this.stage === 'stopped' || this.stage === 'stopping') return;
    this.stage = 'stopping';
    const log = this.options.log;
    this.watcher?.close();
    clearInterval(this.statusTimer);
    await this.reloading;
    const step = async (what: string, work: () => Promise<void> | void): Promise<void> => {
      try {
        await work();
      } catch (err) {
        log.error({ err }, `error while stopping ${what}`);
      }
    };
    await step('drivers', () =>
      Promise.all([...this.drivers.values()].map((d) => d.stop())).then(() => undefined),
    );
    await step('commands', () => this.router?.stop());
    await step('sparkplug', () => this.sparkplug?.stop());
    await step('http', () => this.http?.stop());
    await step('mapping', () => this.publisher?.stop());
    // Clients first: a publish taken while the bridges stop would be acknowledged and stored nowhere.
    await step('broker clients', () => this.localBroker?.disconnectClients());
    await step('bridges', () => this.bridges?.stop());
    await step('broker', () => this.localBroker?.stop());
    await step('simulators', () => this.simulators?.close());
    await step('audit log', () => this.audit?.close());
    await step('database', () => this.db?.close());
    this.stage = 'stopped';
  }
}

/** The mappings whose JSON topics are published (a Sparkplug-only mapping has `json: false`). */
function jsonMappings(mappings: readonly LoadedMapping[]): LoadedMapping[] {
  return mappings.filter((m) => m.sparkplug?.json !== false);
}
