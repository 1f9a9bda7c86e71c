// Where an edge node's Sparkplug session runs: the embedded broker (in process), or an upstream
// broker on a connection of its own (a bridge's addresses, credentials and TLS), whose will is the
// node's NDEATH.
import type { MqttClient } from 'mqtt';
import type { LocalBroker, Origin } from '../broker/api.js';
import type { BridgeConfig } from '../bridge/config.js';
import { Upstream, type UpstreamWill } from '../bridge/upstream.js';
import type { Logger } from '../log.js';

export interface LinkHandlers {
  /** A session is up: subscribe, then birth. */
  onOnline(): void;
  onOffline(): void;
  onMessage(topic: string, payload: Buffer): void;
}

export interface SparkplugLink {
  /** Starts the session; `will` is asked for at each connection (NDEATH with the next bdSeq). */
  start(handlers: LinkHandlers, will: () => UpstreamWill): void;
  readonly online: boolean;
  publish(topic: string, payload: Buffer, qos: 0 | 1): void;
  subscribe(filters: readonly string[]): void;
  /** Ends the session: NDEATH published first (a clean disconnect does not fire the will). */
  stop(death: UpstreamWill): Promise<void>;
}

const ORIGIN: Origin = { kind: 'internal', component: 'sparkplug' };

/**
 * The embedded broker. The session lives as long as the process: when the process dies, so does
 * the broker, and the host's own connection tells it so.
 */
export class LocalLink implements SparkplugLink {
  private unsubscribers: (() => void)[] = [];
  private handlers: LinkHandlers | undefined;
  online = false;

  constructor(private readonly broker: LocalBroker) {}

  start(handlers: LinkHandlers, will: () => UpstreamWill): void {
    this.handlers = handlers;
    will(); // each session takes the next bdSeq, as a connection would
    this.online = true;
    handlers.onOnline();
  }

  publish(topic: string, payload: Buffer, qos: 0 | 1): void {
    this.broker.publish({ topic, payload, qos, retain: false }, ORIGIN);
  }

  subscribe(filters: readonly string[]): void {
    for (const filter of filters)
      this.unsubscribers.push(
        this.broker.subscribe(filter, (msg) => {
          if (msg.origin.kind === 'internal' && msg.origin.component === 'sparkplug') return;
          this.handlers?.onMessage(msg.topic, msg.payload);
        }),
      );
  }

  async stop(death: UpstreamWill): Promise<void> {
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    if (this.online) this.broker.publish({ ...death, retain: false }, ORIGIN);
    this.online = false;
  }
}

/** A connection of its own to a bridge's upstream, with the NDEATH as its will. */
export class UpstreamLink implements SparkplugLink {
  private upstream: Upstream | undefined;
  private client: MqttClient | undefined;
  private handlers: LinkHandlers | undefined;

  constructor(
    private readonly bridge: BridgeConfig,
    private readonly clientId: string,
    private readonly log: Logger,
  ) {}

  get online(): boolean {
    return this.client?.connected ?? false;
  }

  start(handlers: LinkHandlers, will: () => UpstreamWill): void {
    this.handlers = handlers;
    // A Sparkplug session is never persistent: a new connection means new births.
    const cfg: BridgeConfig = { ...this.bridge, cleanSession: true };
    this.upstream = new Upstream(
      cfg,
      this.clientId,
      will,
      {
        onConnected: (session) => {
          this.client = session.client;
          session.client.on('message', (topic, payload) => this.handlers?.onMessage(topic, payload));
          handlers.onOnline();
        },
        onDisconnected: (failure) => {
          this.client = undefined;
          this.log.warn(
            { reason: failure.kind, error: failure.message },
            'sparkplug: upstream connection lost',
          );
          handlers.onOffline();
        },
        onAttemptFailed: (failure, retryInMs) =>
          this.log.warn(
            { reason: failure.kind, error: failure.message, retryInMs },
            'sparkplug: cannot connect',
          ),
      },
      this.log,
    );
    this.upstream.start();
  }

  publish(topic: string, payload: Buffer, qos: 0 | 1): void {
    this.client?.publish(topic, payload, { qos, retain: false });
  }

  subscribe(filters: readonly string[]): void {
    this.client?.subscribe([...filters], { qos: 1 });
  }

  async stop(death: UpstreamWill): Promise<void> {
    const client = this.client;
    if (client?.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        client.publish(death.topic, death.payload, { qos: 1, retain: false }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.client = undefined;
    await this.upstream?.stop();
  }
}
