// A bridge's `in` rules: the upstream subscriptions they ask for, and each message from upstream
// rewritten to its local topic and published on the local broker under the bridge's ACL.
import type { IClientSubscribeOptions, MqttClient } from 'mqtt';
import type { LocalBroker, Origin } from '../broker/api.js';
import type { Logger } from '../log.js';
import type { BridgeConfig } from './config.js';
import { fromPublishProperties } from './publish.js';
import { rewriteTopic, topicMatches } from './topics.js';

export class InboundRules {
  /** Messages brought in, and those the ACL or a bad rewrite refused. */
  received = 0;
  rejected = 0;

  constructor(
    private readonly cfg: BridgeConfig,
    private readonly broker: LocalBroker,
    private readonly origin: Origin,
    private readonly log: Logger,
  ) {}

  /** Subscribes the `in` filters on a fresh session, and brings in what arrives. */
  attach(client: MqttClient, sessionPresent: boolean): void {
    client.on('message', (topic, payload, packet) =>
      this.bringIn(topic, payload, packet.qos, packet.retain, packet.properties),
    );
    // A persistent session upstream still holds the subscriptions (and re-subscribing would replay retained messages).
    if (this.cfg.in.length === 0 || (sessionPresent && !this.cfg.cleanSession)) return;
    const v5 = this.cfg.protocolVersion === 5;
    const map: Record<string, IClientSubscribeOptions> = Object.fromEntries(
      // No Local (MQTT 5): the upstream does not echo our own publishes back on overlapping topics.
      this.cfg.in.map((r) => [r.filter, v5 ? { qos: r.qos, nl: true, rh: 1 as const } : { qos: r.qos }]),
    );
    client.subscribe(map, (err, granted) => {
      if (err) this.log.error({ err }, `bridge ${this.cfg.name}: subscribing the in rules failed`);
      for (const g of granted ?? []) {
        if (g.qos === 128 || g.qos > 2)
          this.log.error({ filter: g.topic }, `bridge ${this.cfg.name}: upstream refused the subscription`);
      }
    });
  }

  private bringIn(
    topic: string,
    payload: Buffer,
    qos: 0 | 1 | 2,
    retain: boolean,
    properties: Parameters<typeof fromPublishProperties>[0],
  ): void {
    const rule = this.cfg.in.find((r) => topicMatches(r.filter, topic));
    if (!rule) return;
    const local = rewriteTopic(topic, rule);
    if (!this.broker.mayPublish(this.origin, local)) {
      this.rejected++;
      this.log.warn(
        { topic: local, user: this.cfg.localUser ?? this.cfg.name },
        `bridge ${this.cfg.name}: the ACL refused a message from upstream`,
      );
      return;
    }
    const props = fromPublishProperties(properties);
    // Results of bridged commands go back the same way: map the response topic like the topic.
    if (props?.responseTopic) props.responseTopic = rewriteTopic(props.responseTopic, rule);
    try {
      this.broker.publish(
        { topic: local, payload, qos, retain, ...(props ? { properties: props } : {}) },
        this.origin,
      );
      this.received++;
    } catch (err) {
      // e.g. a rewrite that leaves an empty topic: the plant's mistake must not stop the gateway.
      this.rejected++;
      this.log.warn(
        { topic, local, error: (err as Error).message },
        `bridge ${this.cfg.name}: cannot bring a message in`,
      );
    }
  }
}
