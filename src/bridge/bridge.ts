// One bridge: local `out` topics -> outbox -> upstream, and upstream `in` topics -> local broker.
import type { MqttClient } from 'mqtt';
import type { Commit, DeliveredMessage, LocalBroker, Origin } from '../broker/api.js';
import type { Logger } from '../log.js';
import type { Database } from '../store/db.js';
import { FailureLog } from '../store/failure-log.js';
import { Outbox, type OutboxMessage, type StoredMessage } from './outbox/outbox.js';
import { displayUrl, type BridgeConfig, type OutRule, type UpstreamAddress } from './config.js';
import { DropLog } from './drop-log.js';
import { Forwarder, type PublishFn } from './forwarder.js';
import { InboundRules } from './inbound.js';
import { LeanPublisher } from './lean-publisher.js';
import { MessageExpiredError } from './publish.js';
import { sysMessages, type BridgeState, type BridgeStatus } from './status.js';
import { rewriteTopic, topicMatches } from './topics.js';
import { Upstream, type ConnectedSession, type UpstreamFailure } from './upstream.js';

export interface BridgeContext {
  gatewayId: string;
  broker: LocalBroker;
  /** The outbox database, open by the time `start` runs. */
  db: () => Database;
  log: Logger;
}

export class Bridge {
  private readonly log: Logger;
  private readonly origin: Origin;
  private readonly statusTopic: string | undefined;
  private outbox: Outbox | undefined;
  private forwarder: Forwarder | undefined;
  private readonly upstream: Upstream;
  private client: MqttClient | undefined;
  /** How the current session publishes (undefined while not connected). */
  private publish: PublishFn | undefined;
  private unsubscribers: (() => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private state: BridgeState = 'starting';
  private since = Date.now();
  private lastError: UpstreamFailure | undefined;
  private sent = 0;
  private readonly inbound: InboundRules;
  private readonly drops: DropLog;
  private rate = { sent: 0, at: Date.now(), perSec: 0 };
  /** The address of the current session, and since when; the last one used, to log a switch. */
  private address: { address: UpstreamAddress; since: number } | undefined;
  private lastAddress: UpstreamAddress | undefined;
  /** Why the last session or attempt ended: the reason given when the next address takes over. */
  private leftBecause: string | undefined;
  private lastSwitch: BridgeStatus['lastSwitch'];
  /** Storage and read failures, one rate-limited log per kind of operation. */
  private readonly failures = new Map<string, FailureLog>();

  constructor(
    readonly cfg: BridgeConfig,
    private readonly ctx: BridgeContext,
  ) {
    this.log = ctx.log.child({ bridge: cfg.name });
    this.origin = { kind: 'bridge', bridge: cfg.name, username: cfg.localUser ?? cfg.name };
    this.inbound = new InboundRules(cfg, ctx.broker, this.origin, this.log);
    this.drops = new DropLog(this.log, cfg.name, () => this.outbox?.getStats().messages);
    this.statusTopic =
      cfg.statusTopic === false ? undefined : cfg.statusTopic.replaceAll('{gatewayId}', ctx.gatewayId);
    const clientId = cfg.clientId ?? `${ctx.gatewayId}-${cfg.name}`;
    this.upstream = new Upstream(
      cfg,
      clientId,
      this.statusTopic === undefined
        ? undefined
        : () => ({ topic: this.statusTopic!, payload: Buffer.from('offline'), qos: 1, retain: true }),
      {
        onConnected: (s) => this.connected(s),
        onDisconnected: (f, planned) => this.disconnected(f, planned),
        onAttemptFailed: (f, retryInMs, address) => {
          this.lastError = f;
          this.leftBecause = `${displayUrl(address.url)}: ${f.kind}: ${f.message}`;
          this.log.warn(
            { reason: f.kind, error: f.message, retryInMs },
            `bridge ${cfg.name}: cannot connect to ${displayUrl(address.url)}`,
          );
        },
        beforeReturnToPrimary: () => this.leaveForPrimary(),
      },
      this.log,
    );
  }

  /** Opens the outbox (resuming its backlog), takes local traffic, connects in the background. */
  async start(): Promise<void> {
    const outbox = await Outbox.open(this.ctx.db(), this.cfg.name, this.cfg.outbox, {
      onCommitted: (batch) => {
        this.failing('writing the outbox').succeeded();
        this.forwarder?.onCommitted(batch);
      },
      onDropped: (count, reason) => this.drops.dropped(count, reason),
      onError: (err, during, items) => this.failing(during).failed(err, items),
    });
    this.outbox = outbox;
    this.forwarder = new Forwarder(outbox, this.cfg.outbox.drainRatePerSec, {
      onSent: (n) => (this.sent += n),
      onRejected: (msg, err) => this.sendFailed(msg, err),
      onError: (err, during) => this.failing(during).failed(err, 0),
    });
    await this.forwarder.start();
    const backlog = outbox.getStats().messages;
    if (backlog > 0)
      this.log.info({ messages: backlog }, `bridge ${this.cfg.name}: resuming an outbox backlog`);
    // Durable subscriptions: a client's publish is acknowledged once the outbox committed it.
    this.cfg.out.forEach((rule, index) => {
      this.unsubscribers.push(
        this.ctx.broker.subscribeDurable(rule.filter, (msg) => this.outgoing(msg, rule, index)),
      );
    });
    this.setState('connecting');
    this.upstream.start();
    this.timers.push(
      setInterval(() => {
        this.measureRate();
        this.checkAcknowledgements();
      }, 1000),
    );
    if (this.cfg.statusIntervalSec > 0)
      this.timers.push(setInterval(() => this.publishSys(), this.cfg.statusIntervalSec * 1000));
    for (const t of this.timers) t.unref();
    this.publishSys();
  }

  /** Stops taking traffic, commits what it took, waits briefly for acknowledgements, disconnects. */
  async stop(): Promise<void> {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.unsubscribers = [];
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.forwarder?.pause();
    await this.outbox?.drain();
    const deadline = Date.now() + 2000;
    while ((this.forwarder?.inflightCount ?? 0) > 0 && this.client?.connected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const client = this.client;
    // A clean disconnect does not fire the will, so say goodbye ourselves.
    if (client?.connected && this.statusTopic)
      await publishAndWait(client, this.statusTopic, 'offline', 1000);
    this.client = undefined;
    this.publish = undefined;
    await this.upstream.stop();
    this.forwarder?.detach();
    await this.outbox?.close();
    this.setState('stopped');
    this.drops.flush(true);
    for (const failures of this.failures.values()) failures.flush();
    this.publishSys();
  }

  status(): BridgeStatus {
    const stats = this.outbox?.getStats();
    const drops = this.drops.counts();
    const current = this.address;
    const status: BridgeStatus = {
      name: this.cfg.name,
      url: displayUrl(current?.address.url ?? this.cfg.url ?? this.cfg.addresses![0]!.url),
      address: current
        ? {
            url: displayUrl(current.address.url),
            index: current.address.index,
            primary: current.address.index === 0,
            since: current.since,
          }
        : null,
      state: this.state,
      connected: this.state === 'connected',
      since: this.since,
      outbox: {
        messages: stats?.messages ?? 0,
        bytes: stats?.bytes ?? 0,
        oldestAgeSec:
          stats?.oldestTs === undefined
            ? null
            : Math.max(0, Math.floor((Date.now() - stats.oldestTs) / 1000)),
      },
      inflight: this.forwarder?.inflightCount ?? 0,
      sent: this.sent,
      received: this.inbound.received,
      rejected: this.inbound.rejected,
      dropped: drops.total,
      droppedBy: drops.byReason,
      drainRatePerSec: this.rate.perSec,
    };
    if (this.lastError) status.lastError = this.lastError;
    if (this.lastSwitch) status.lastSwitch = this.lastSwitch;
    return status;
  }

  private failing(during: string): FailureLog {
    let log = this.failures.get(during);
    if (!log) {
      log = new FailureLog(this.log, `bridge ${this.cfg.name}: ${during}`);
      this.failures.set(during, log);
    }
    return log;
  }

  /** Takes a local message for the upstream; returns the outbox commit it waits for. */
  private outgoing(msg: DeliveredMessage, rule: OutRule, index: number): Commit {
    // Loop protection: what this bridge brought in never goes back out through it.
    if (msg.origin.kind === 'bridge' && msg.origin.bridge === this.cfg.name) return null;
    // A message matching several rules goes out once, by the first rule.
    for (let i = 0; i < index; i++) if (topicMatches(this.cfg.out[i]!.filter, msg.topic)) return null;
    const out: OutboxMessage = {
      topic: rewriteTopic(msg.topic, rule),
      payload: msg.payload,
      qos: rule.qos,
      retain: rule.retain && msg.retain,
    };
    if (msg.properties) out.properties = msg.properties;
    if (rule.qos === 0 && !rule.store) {
      this.sendDirect(out);
      return null;
    }
    return this.outbox ? this.outbox.append(out) : null;
  }

  /** QoS 0 rules that skip the outbox: sent when connected, else dropped (counted). */
  private sendDirect(msg: OutboxMessage): void {
    const publish = this.publish;
    if (!publish || !this.client?.connected) {
      this.drops.dropped(1, 'offline');
      return;
    }
    const stored: StoredMessage = { ...msg, seq: 0, ts: Date.now(), bytes: 0 };
    publish(stored, (err) => {
      if (err) this.sendFailed(stored, err);
      else this.sent++;
    });
  }

  private connected(session: ConnectedSession): void {
    const client = session.client;
    this.client = client;
    this.lastError = undefined;
    this.setState('connected');
    const address = session.address;
    this.address = { address, since: Date.now() };
    const url = displayUrl(address.url);
    const previous = this.lastAddress;
    this.lastAddress = address;
    if (previous && previous.index !== address.index) {
      // Each switch is logged once, with why the previous address was left.
      const from = displayUrl(previous.url);
      const reason = this.leftBecause ?? 'unknown';
      this.lastSwitch = { from, to: url, reason, at: Date.now() };
      this.log.warn(
        { from, to: url, primary: address.index === 0, reason },
        `bridge ${this.cfg.name}: switched upstream from ${from} to ${url}`,
      );
    } else {
      this.log.info(
        { sessionPresent: session.sessionPresent },
        `bridge ${this.cfg.name}: connected to ${url}`,
      );
    }
    this.leftBecause = undefined;
    this.inbound.attach(client, session.sessionPresent);
    if (this.statusTopic) {
      client.publish(this.statusTopic, 'online', { qos: 1, retain: true });
      const where = { url, index: address.index, primary: address.index === 0, since: this.address.since };
      client.publish(`${this.statusTopic}/address`, JSON.stringify(where), { qos: 1, retain: true });
    }
    const publisher = new LeanPublisher(client, this.cfg.protocolVersion);
    this.publish = publisher.publish;
    const window = Math.min(
      this.cfg.outbox.inflight,
      session.receiveMaximum ?? Number.MAX_SAFE_INTEGER,
      publisher.capacity,
    );
    this.forwarder?.attach({
      publish: publisher.publish,
      window,
      isConnected: () => client.connected,
    });
    this.publishSys();
  }

  private disconnected(failure: UpstreamFailure, planned: boolean): void {
    this.client = undefined;
    this.publish = undefined;
    this.address = undefined;
    this.forwarder?.detach();
    this.setState('connecting');
    if (planned) this.leftBecause = 'the primary answers again';
    else {
      this.lastError = failure;
      this.leftBecause = `${failure.kind}: ${failure.message}`;
      this.log.warn(
        { reason: failure.kind, error: failure.message },
        `bridge ${this.cfg.name}: upstream connection lost`,
      );
    }
    this.publishSys();
  }

  /**
   * Before a planned return to the primary: send nothing new, let what is in flight be
   * acknowledged (so the switch re-sends nothing), and mark this gateway offline on the backup.
   */
  private async leaveForPrimary(): Promise<void> {
    const client = this.client;
    this.forwarder?.pause();
    const deadline = Date.now() + 2000;
    while ((this.forwarder?.inflightCount ?? 0) > 0 && client?.connected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (client?.connected && this.statusTopic)
      await publishAndWait(client, this.statusTopic, 'offline', 1000);
  }

  /** An upstream that leaves a message unacknowledged for `ackTimeoutSec` is taken as down. */
  private checkAcknowledgements(): void {
    const limitMs = this.cfg.failover.ackTimeoutSec * 1000;
    if (limitMs === 0 || !this.client) return;
    const waited = this.forwarder?.oldestInflightAgeMs() ?? 0;
    if (waited > limitMs) this.upstream.drop(`no acknowledgement for ${Math.round(waited / 1000)} s`);
  }

  private sendFailed(msg: StoredMessage, err: Error): void {
    if (err instanceof MessageExpiredError) this.drops.dropped(1, 'expired');
    else {
      this.drops.dropped(1, 'rejected-upstream');
      this.log.warn(
        { topic: msg.topic, error: err.message },
        `bridge ${this.cfg.name}: upstream refused a message`,
      );
    }
  }

  private measureRate(): void {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.rate.at) / 1000);
    this.rate = { sent: this.sent, at: now, perSec: Math.round((this.sent - this.rate.sent) / seconds) };
  }

  private setState(state: BridgeState): void {
    if (state === this.state) return;
    this.state = state;
    this.since = Date.now();
  }

  private publishSys(): void {
    if (this.cfg.statusIntervalSec === 0) return;
    this.ctx.broker.publishBatch(sysMessages(this.status()), {
      kind: 'internal',
      component: `bridge:${this.cfg.name}`,
    });
  }
}

/** Publishes a retained QoS 1 message and waits for its acknowledgement, at most `timeoutMs`. */
function publishAndWait(
  client: MqttClient,
  topic: string,
  payload: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    client.publish(topic, payload, { qos: 1, retain: true }, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
