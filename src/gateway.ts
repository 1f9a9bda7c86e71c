// The composition root: builds every part from a loaded config and owns the start/stop order.
// Parts talk through small interfaces (LocalBroker, Driver); this file is the only one that knows
// them all.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Driver, DeviceStatus } from '../drivers/types.js';
import { Broker } from './broker/broker.js';
import { BridgeManager, refuseWhileRestarting } from './bridge/manager.js';
import { diffConfig, type ConfigDiff } from './config/diff.js';
import { formatProblem, type LoadedConfig } from './config/load.js';
import { watchConfig, type ConfigWatcher, type ReloadResult } from './config/watch.js';
import type { Logger } from './log.js';
import { CommandRouter } from './mapping/commands.js';
import { jsonMappings, TagPublisher } from './mapping/publisher.js';
import { SparkplugManager } from './sparkplug/manager.js';
import { AuditLog } from './mapping/audit.js';
import { checkDataFolder, recordDataVersion } from './store/data-folder.js';
import { currentSchema } from './data-schema.js';
import { Database } from './store/db.js';
import { SimulatorGroup } from './simulator-group.js';
import { DeviceStatusBoard } from './device-status.js';
import { DriverSet } from './driver-set.js';
import type { HttpGateway, Readiness } from './http/context.js';
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
  private readonly drivers: DriverSet;
  private readonly deviceStatus: DeviceStatusBoard;
  private localBroker?: Broker;
  private watcher?: ConfigWatcher;
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
    devices: () => this.drivers.infos(this.current.config.devices),
    bridges: () => this.bridges?.status() ?? [],
    sampleCounts: () => this.latest.sampleCounts(),
  });

  constructor(
    private current: LoadedConfig,
    private readonly options: GatewayOptions,
  ) {
    this.drivers = new DriverSet(
      {
        onSamples: (deviceId, batch) => {
          this.publisher?.onSamples(deviceId, batch);
          this.sparkplug?.onSamples(deviceId, batch);
          this.latest.onSamples(deviceId, batch);
        },
        onRoundTrip: (deviceId, rttMs) => this.metrics.observeRoundTrip(deviceId, rttMs),
        onStatus: (status) => this.deviceStatus.update(status),
      },
      options.log,
      current.config.gateway.dataDir,
    );
    this.deviceStatus = new DeviceStatusBoard(() => this.localBroker, options.log, {
      onStateChange: (status) => this.sparkplug?.onDeviceStatus(status),
    });
  }

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
    for (const device of config.devices) this.drivers.add(device, mappings, this.loaded.drivers);
    this.router = new CommandRouter({
      mappings,
      broker: this.broker,
      drivers: this.drivers.byId,
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
      deviceState: (id) => this.drivers.byId.get(id)?.status().state,
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
    await this.drivers.startAll(config.devices, this.simulators);

    this.deviceStatus.startTimer(config.gateway.statusIntervalSec, () => this.devices());

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
    await this.drivers.remove(rebuilt);
    for (const id of diff.devices.removed) {
      this.deviceStatus.clear(id);
      this.latest.forget(id);
    }
    this.current = next;
    this.publisher?.update(jsonMappings(next.mappings));
    this.router?.update(next.mappings);
    await this.sparkplug?.update(next.mappings);
    const started: Driver[] = [];
    for (const id of [...diff.devices.added, ...diff.devices.changed]) {
      const device = next.config.devices.find((d) => d.id === id);
      const driver = device && this.drivers.add(device, next.mappings, next.drivers);
      if (driver) started.push(driver);
      else this.deviceStatus.clear(id);
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

  simulatorAddresses(): string[] {
    return this.simulators?.addresses() ?? [];
  }

  devices(): DeviceStatus[] {
    return this.drivers.statuses();
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
      devices: () => this.drivers.infos(this.current.config.devices),
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
    this.deviceStatus.stopTimer();
    await this.reloading;
    const step = async (what: string, work: () => Promise<void> | void): Promise<void> => {
      try {
        await work();
      } catch (err) {
        log.error({ err }, `error while stopping ${what}`);
      }
    };
    await step('drivers', () => this.drivers.stopAll());
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
