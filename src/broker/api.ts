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

/**
 * A durable destination's answer for one message: a promise that resolves once the message is on
 * disk (shared by every message of the same group commit), or null when there is nothing to wait
 * for (the message is not for it). It rejects with a NotStoredError when the message was refused.
 */
export type Commit = Promise<void> | null;
export type DurableHandler = (msg: DeliveredMessage) => Commit;

/** Why a durable destination did not store a message. */
export type NotStoredReason = 'quota' | 'storage';

/**
 * A message a durable destination did not store: 'quota' when a configured bound or the disk's
 * free-space reserve refused it, 'storage' when writing it failed. The publisher is not acknowledged.
 */
export class NotStoredError extends Error {
  constructor(
    readonly reason: NotStoredReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'NotStoredError';
  }
}

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
  /**
   * An in-process subscription that stores what it takes (the bridge outboxes). A client's QoS 1/2
   * publish is acknowledged only once every durable subscriber's commit resolved; a rejected
   * commit refuses it (MQTT 5: a PUBACK/PUBREC reason code; MQTT 3.1.1: no acknowledgement).
   */
  subscribeDurable(filter: string, handler: DurableHandler): () => void;
  /** The ACL's word on whether this identity may publish on this topic (bridge `in` rules). */
  mayPublish(origin: Origin, topic: string): boolean;
}
