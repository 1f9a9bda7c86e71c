// The broker as the rest of the gateway sees it: an in-process publish/subscribe API. Mapping,
// commands and the bridge call these functions directly; no socket sits between them.

export type QoS = 0 | 1 | 2;

/** MQTT 5 message properties carried end to end (ignored on the wire for 3.1.1 subscribers). */
export interface MessageProperties {
  contentType?: string;
  payloadFormatIndicator?: boolean;
  /** Seconds; counted down while the message waits in a queue. */
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

export interface BrokerMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
}

/** Who published a message: a network client, or a part of the gateway itself. */
export type Origin =
  | { kind: 'client'; clientId: string; username?: string }
  | { kind: 'internal'; component: string }
  | { kind: 'bridge'; bridge: string; username?: string };

export interface DeliveredMessage extends BrokerMessage {
  origin: Origin;
}

export type LocalHandler = (msg: DeliveredMessage) => void;

export interface LocalBroker {
  /** Publishes as the gateway itself (no ACL check). Retained messages are stored as for clients. */
  publish(msg: BrokerMessage, origin?: Origin): void;
  /** Many messages in one call: one pass, socket writes grouped per subscriber. */
  publishBatch(msgs: readonly BrokerMessage[], origin?: Origin): void;
  /**
   * An in-process subscription. The handler sees every matching message once it passed the
   * publisher's ACL. Returns the function that removes it.
   */
  subscribe(filter: string, handler: LocalHandler): () => void;
  /** The ACL's word on whether this identity may publish on this topic (bridge `in` rules). */
  mayPublish(origin: Origin, topic: string): boolean;
}
