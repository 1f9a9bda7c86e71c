// The OPC UA driver: one client and session per device, a subscription for `subscribe` tags, a poller
// for `poll` tags. A connection loop with backoff owns the lifecycle; node-opcua repairs short breaks
// itself (secure channel, session, subscriptions), and a watchdog rebuilds a subscription gone silent.
import type { ClientSession, OPCUAClient } from 'node-opcua';
import type * as api from '../types.js';
import { createClient, identityOf, readServerLimits } from './client.js';
import { loadOpcuaClient } from './load.js';
import { LEGACY_POLICIES, type OpcuaDeviceConfig } from './config.js';
import { errorText, explainConnectError } from './errors.js';
import { openPki, resolvePkiDir, type OpenPki } from './pki.js';
import { planTags, type TagPlan } from './plan.js';
import { TagPoller } from './poller.js';
import { readSamples } from './reader.js';
import { RequestCounters } from './request-stats.js';
import { SubscriptionSet } from './subscriptions.js';
import { withTimeout } from '../timeout.js';
import { writeTag, type NodeTypeCache } from './writer.js';

type Opcua = import('./load.js').OpcuaClientApi;

/** One try at connecting; abandoned when it timed out or the driver stopped meanwhile. */
interface Attempt {
  abandoned: boolean;
}

export class OpcuaDriver implements api.Driver {
  readonly deviceId: string;
  private readonly plans: TagPlan[];
  private readonly byName: Map<string, TagPlan>;
  private readonly log: api.DriverContext['log'];

  private state: api.ConnectionState = 'disconnected';
  private since = Date.now();
  private lastError?: string;
  private counters = {
    notifications: 0,
    rebuilds: 0,
    reconnects: 0,
    sessions: 0,
    pollOverruns: 0,
    monitorCalls: 0,
    publishResponses: 0,
  };

  private opcua?: Opcua;
  private pki?: OpenPki;
  private client?: OPCUAClient;
  private session?: ClientSession;
  /** One subscription, or several when the server limits monitored items per subscription. */
  private subscriptions?: SubscriptionSet;
  private perSubscription = Infinity;
  private poller?: TagPoller;
  private maxPerCall: number;
  private readonly types: NodeTypeCache = new Map();

  private running = false;
  private loop?: Promise<void>;
  /** Ends the current wait (backoff sleep or connected phase) early. */
  private interrupt?: (err: Error) => void;
  private markedDown = false;
  /** Abandoned connect attempts still finishing in the background; `stop` waits for them. */
  private readonly abandoned = new Set<Promise<void>>();
  readonly stats: RequestCounters;
  /** Loading node-opcua and opening the PKI, when under way. */
  private preparing?: Promise<[Opcua, OpenPki]>;

  constructor(
    private readonly device: OpcuaDeviceConfig,
    tags: readonly api.TagConfig[],
    private readonly ctx: api.DriverContext,
  ) {
    this.deviceId = device.id;
    this.plans = planTags(device.id, tags);
    this.byName = new Map(this.plans.map((p) => [p.name, p]));
    // The gateway hands us a logger already bound to this device.
    this.log = ctx.log;
    this.maxPerCall = device.maxNodesPerCall;
    this.stats = new RequestCounters((rttMs) => ctx.onRoundTrip?.(rttMs));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.device.securityMode !== 'None' && LEGACY_POLICIES.includes(this.device.securityPolicy)) {
      this.log.warn(
        { policy: this.device.securityPolicy },
        'deprecated OPC UA security policy configured: prefer Basic256Sha256, Aes128_Sha256_RsaOaep or Aes256_Sha256_RsaPss',
      );
    }
    this.setState('connecting');
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.interrupt?.(new Error('stopped'));
    await this.loop;
    this.loop = undefined;
    // Node-opcua bounds each step of an abandoned attempt (transport and request timeouts).
    await Promise.all(this.abandoned);
    // A preparation cut short by the stop still finishes: its certificate manager is disposed below.
    await this.preparing?.catch(() => undefined);
    await this.pki?.manager.dispose().catch(() => undefined);
    this.pki = undefined;
    this.setState('stopped');
  }

  status(): api.DeviceStatus {
    const status: api.DeviceStatus = {
      deviceId: this.deviceId,
      state: this.state,
      since: this.since,
      ...this.stats.figures(),
      overruns: this.counters.rebuilds + this.counters.pollOverruns,
      counters: { ...this.counters },
    };
    if (this.lastError) status.lastError = this.lastError;
    return status;
  }

  async read(tags: readonly string[]): Promise<api.TagSample[]> {
    const ts = Date.now();
    const known: TagPlan[] = [];
    const out: api.TagSample[] = [];
    for (const name of tags) {
      const plan = this.byName.get(name);
      if (plan) known.push(plan);
      else out.push({ tag: name, ts, quality: 'bad', value: null, reason: 'unknown tag' });
    }
    const session = this.session;
    if (!session || this.state !== 'connected') {
      return [
        ...out,
        ...known.map((p): api.TagSample => ({
          tag: p.name,
          ts,
          quality: 'bad',
          value: null,
          reason: 'disconnected',
        })),
      ];
    }
    return [...out, ...(await readSamples(session, known, this.maxPerCall, this.stats))];
  }

  async write(tag: string, value: api.TagValue): Promise<api.WriteResult> {
    const plan = this.byName.get(tag);
    if (!plan)
      return { ok: false, error: `unknown tag ${tag} on device ${this.deviceId}`, outcome: 'refused' };
    if (!plan.writable) return { ok: false, error: `tag ${tag} is not writable`, outcome: 'refused' };
    const session = this.session;
    if (!session || !this.opcua || this.state !== 'connected') {
      return { ok: false, error: `device ${this.deviceId} is not connected`, outcome: 'refused' };
    }
    return writeTag(this.opcua, session, plan, value, this.types, this.stats, this.maxPerCall);
  }

  // ---- lifecycle ----

  private setState(state: api.ConnectionState, error?: string): void {
    if (error !== undefined) this.lastError = error;
    if (state === this.state && error === undefined) return;
    this.state = state;
    this.since = Date.now();
    this.ctx.onStatus(this.status());
  }

  private deliver = (samples: api.TagSample[]): void => {
    if (samples.length > 0 && this.running) this.ctx.onSamples(samples);
  };

  /** Every tag bad/disconnected, once per outage, so consumers see the outage at once. */
  private markDown(reason: string): void {
    if (this.markedDown) return;
    this.markedDown = true;
    const ts = Date.now();
    this.deliver(this.plans.map((p) => ({ tag: p.name, ts, quality: 'bad', value: null, reason })));
  }

  /** Waits for `ms`, or less when interrupted (stop, connection lost); resolves with the cause. */
  private wait(ms: number | undefined): Promise<Error | undefined> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => finish(undefined), ms);
      const finish = (err: Error | undefined) => {
        if (timer) clearTimeout(timer);
        if (this.interrupt === finish) this.interrupt = undefined;
        resolve(err);
      };
      this.interrupt = finish;
    });
  }

  private async run(): Promise<void> {
    let delay = this.device.reconnectInitialDelayMs;
    let lastLogged = '';
    while (this.running) {
      try {
        await this.connect();
        delay = this.device.reconnectInitialDelayMs;
        lastLogged = '';
        const cause = await this.wait(undefined);
        if (!this.running) break;
        this.setState('disconnected', errorText(cause));
        this.log.warn({ err: errorText(cause) }, 'OPC UA connection lost; reconnecting with a new session');
      } catch (err) {
        if (!this.running) break;
        const message = this.pki
          ? await explainConnectError(err, this.device.endpointUrl, this.pki.paths)
          : errorText(err);
        this.setState('disconnected', message);
        // One log line per distinct failure, not one per retry.
        if (message !== lastLogged) this.log.warn({ retryInMs: delay }, `OPC UA connect failed: ${message}`);
        lastLogged = message;
      }
      await this.teardown();
      if (!this.running) break;
      this.markDown('disconnected');
      await this.wait(delay);
      delay = Math.min(delay * 2, this.device.reconnectMaxDelayMs);
      if (this.running) this.setState('connecting');
    }
    await this.teardown();
  }

  private async connect(): Promise<void> {
    const stopped = new Promise<never>((_, reject) => {
      this.interrupt = (err) => reject(err);
    });
    stopped.catch(() => undefined);
    try {
      // Loading node-opcua and making the key pair on first use take seconds under load: they are
      // ours, not the device's, so they do not count against its connect timeout.
      this.preparing ??= this.prepare().finally(() => (this.preparing = undefined));
      const [opcua, pki] = await Promise.race([this.preparing, stopped]);
      const attempt: Attempt = { abandoned: false };
      const steps = this.connectSteps(opcua, pki, attempt);
      try {
        await Promise.race([withTimeout(steps, this.device.connectTimeoutMs, 'connect'), stopped]);
      } catch (err) {
        attempt.abandoned = true;
        const late = steps.catch(() => undefined).finally(() => this.abandoned.delete(late));
        this.abandoned.add(late);
        throw err;
      }
    } finally {
      this.interrupt = undefined;
    }
  }

  private async prepare(): Promise<[Opcua, OpenPki]> {
    const opcua = (this.opcua ??= await loadOpcuaClient(this.log));
    const device = this.device;
    this.pki ??= await openPki(resolvePkiDir(this.ctx.dataDir, device.pkiDir), device.applicationName);
    return [opcua, this.pki];
  }

  /**
   * Opens a client and a session, then adopts them. An attempt abandoned meanwhile (timed out,
   * stopped) is never adopted: it closes what it opened as soon as its pending step returns, so a
   * late success leaves no second session on the server.
   */
  private async connectSteps(opcua: Opcua, pki: OpenPki, attempt: Attempt): Promise<void> {
    const device = this.device;
    const client = createClient(opcua, device, pki);
    let session: ClientSession | undefined;
    let adopted = false;
    const check = (): void => {
      if (attempt.abandoned) throw new Error('connect attempt abandoned');
    };
    try {
      await client.connect(device.endpointUrl);
      check();
      session = await client.createSession(await identityOf(opcua, device.user));
      check();
      this.adopt(client, session);
      adopted = true;
      await this.adoptServerLimits(opcua, session);
      check();

      const subscribed = this.plans.filter((p) => p.mode === 'subscribe');
      const polled = this.plans.filter((p) => p.mode === 'poll');
      // Kept before it is created, so a teardown during its creation terminates it too.
      this.subscriptions = this.newSubscriptions(opcua, session);
      await this.subscriptions.create(subscribed, this.perSubscription);
      check();
      if (polled.length > 0) {
        this.poller = new TagPoller(
          session,
          polled,
          this.maxPerCall,
          this.stats,
          this.deliver,
          () => this.counters.pollOverruns++,
          () => this.state === 'connected',
        );
        this.poller.start();
      }
    } catch (err) {
      // Adopted pieces are the teardown's to close; before adoption they are only this attempt's.
      if (!adopted) await this.discard(client, session);
      throw err;
    }
    this.markedDown = false;
    this.setState('connected');
    this.log.info(
      { endpointUrl: device.endpointUrl, securityMode: device.securityMode, tags: this.plans.length },
      'OPC UA connected',
    );
  }

  /** The driver takes over a fresh session: its events now drive our state. */
  private adopt(client: OPCUAClient, session: ClientSession): void {
    this.client = client;
    this.session = session;
    this.counters.sessions++;
    client.on('connection_lost', () => {
      if (!this.running || this.client !== client) return;
      this.setState('disconnected', 'connection lost');
      this.log.warn('OPC UA connection lost; node-opcua is repairing it');
      this.markDown('disconnected');
    });
    client.on('connection_reestablished', () => {
      if (!this.running || this.client !== client) return;
      this.counters.reconnects++;
      this.log.info('OPC UA connection re-established');
      this.markedDown = false;
      // The watchdog counts silence from now, not from before the break.
      this.subscriptions?.touch();
      this.setState('connected');
      void this.refresh();
    });
    client.on('close', (err?: Error | null) => {
      if (err && this.client === client) this.interrupt?.(err);
    });
  }

  /** Closes a session and client that were never adopted. */
  private async discard(client: OPCUAClient, session: ClientSession | undefined): Promise<void> {
    const timeout = Math.min(this.device.requestTimeoutMs, 2000);
    if (session) await withTimeout(session.close(true), timeout, 'close session').catch(() => undefined);
    await withTimeout(client.disconnect(), timeout, 'disconnect').catch(() => undefined);
    client.removeAllListeners();
  }

  private newSubscriptions(opcua: Opcua, session: ClientSession): SubscriptionSet {
    const counters = this.counters;
    return new SubscriptionSet(
      opcua,
      session,
      this.device,
      this.maxPerCall,
      {
        samples: this.deliver,
        notifications: (n) => (counters.notifications += n),
        monitorCall: () => counters.monitorCalls++,
        publishResponse: () => counters.publishResponses++,
        rebuild: () => counters.rebuilds++,
        rebuildFailed: (err) => this.interrupt?.(err),
        connected: () => this.state === 'connected',
      },
      this.log,
    );
  }

  /** Batches and subscriptions stay within the server's limits. */
  private async adoptServerLimits(opcua: Opcua, session: ClientSession): Promise<void> {
    const limits = await readServerLimits(opcua, session);
    this.maxPerCall = Math.min(
      this.device.maxNodesPerCall,
      limits.maxNodesPerRead,
      limits.maxMonitoredItemsPerCall,
    );
    this.perSubscription = limits.maxMonitoredItemsPerSubscription;
  }

  /** Fresh values after a repaired connection: a subscription only resends what changes. */
  private async refresh(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.deliver(await readSamples(session, this.plans, this.maxPerCall, this.stats));
  }

  private async teardown(): Promise<void> {
    this.poller?.stop();
    this.poller = undefined;
    const timeout = Math.min(this.device.requestTimeoutMs, 2000);
    const subscriptions = this.subscriptions;
    this.subscriptions = undefined;
    const session = this.session;
    this.session = undefined;
    const client = this.client;
    this.client = undefined;
    this.types.clear();
    await subscriptions?.close(timeout);
    if (session) await withTimeout(session.close(true), timeout, 'close session').catch(() => undefined);
    if (client) {
      await withTimeout(client.disconnect(), timeout, 'disconnect').catch(() => undefined);
      client.removeAllListeners();
    }
  }
}
