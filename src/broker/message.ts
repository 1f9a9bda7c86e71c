// A message inside the broker: what was published, who published it, when it expires, and its
// wire encodings, made once per (protocol, QoS, retain flag) and shared by every subscriber.
import type { MessageProperties, Origin, QoS } from './api.js';
import { encodePublish, type EncodedPublish, type ProtocolVersion, type PublishProperties } from './codec.js';

export interface RoutedMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties: MessageProperties | undefined;
  origin: Origin;
  /** Epoch ms after which the message is no longer delivered (v5 message expiry); 0: never. */
  expiresAt: number;
  /** The publishing session, for no-local subscriptions; null for the gateway's own messages. */
  publisher: object | null;
  encodings?: (EncodedPublish | undefined)[];
  /** Set once the payload is in its own memory (see `keepable`). */
  compacted?: boolean;
}

/**
 * Makes a message safe to keep (retained, queued): a payload read straight from a socket is a
 * view into a read buffer of up to 64 KB, which a small message must not keep alive. A payload in
 * a slice of Node's shared buffer pool (8 KB; the gateway's own payloads) stays as it is: a copy
 * would be another such slice, so it would keep as much alive, for one more allocation and copy
 * per message queued behind a slow subscriber.
 */
export function keepable(msg: RoutedMessage): RoutedMessage {
  if (!msg.compacted) {
    const backing = msg.payload.buffer.byteLength;
    if (msg.payload.byteLength < backing && backing > Buffer.poolSize) msg.payload = Buffer.from(msg.payload);
    msg.compacted = true;
  }
  return msg;
}

export function isExpired(msg: RoutedMessage, now: number): boolean {
  return msg.expiresAt !== 0 && now >= msg.expiresAt;
}

function wireProperties(
  msg: RoutedMessage,
  now: number,
  subscriptionIds: readonly number[] | undefined,
): PublishProperties | undefined {
  const p = msg.properties;
  if (!p && (!subscriptionIds || subscriptionIds.length === 0)) return undefined;
  const out: PublishProperties = {};
  if (p) {
    if (p.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator;
    if (p.contentType !== undefined) out.contentType = p.contentType;
    if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic;
    if (p.correlationData !== undefined) out.correlationData = p.correlationData;
    if (p.userProperties !== undefined) out.userProperties = p.userProperties;
  }
  // The expiry sent is what is left of it (MQTT-3.3.2-6).
  if (msg.expiresAt !== 0) out.messageExpiryInterval = Math.max(1, Math.ceil((msg.expiresAt - now) / 1000));
  if (subscriptionIds && subscriptionIds.length > 0) {
    out.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0]! : [...subscriptionIds];
  }
  return out;
}

/** The encoding of `msg` for one delivery; shared (cached) unless it carries per-delivery fields. */
export function encodingFor(
  msg: RoutedMessage,
  version: ProtocolVersion,
  qos: QoS,
  retain: boolean,
  subscriptionIds: readonly number[] | undefined,
  now: number,
): EncodedPublish {
  const v5 = version === 5;
  const perDelivery =
    v5 && (msg.expiresAt !== 0 || (subscriptionIds !== undefined && subscriptionIds.length > 0));
  if (perDelivery)
    return encodePublish(msg.topic, msg.payload, qos, retain, 5, wireProperties(msg, now, subscriptionIds));
  const slot = (v5 ? 8 : version === 4 ? 0 : 16) + qos * 2 + (retain ? 1 : 0);
  msg.encodings ??= [];
  let encoded = msg.encodings[slot];
  if (!encoded) {
    encoded = encodePublish(
      msg.topic,
      msg.payload,
      qos,
      retain,
      version,
      v5 ? wireProperties(msg, now, undefined) : undefined,
    );
    msg.encodings[slot] = encoded;
  }
  return encoded;
}

/**
 * A per-connection encoding using a topic alias (v5): the topic goes out the first time with its
 * alias, and as an empty string with the alias after that.
 */
export function aliasedEncoding(
  msg: RoutedMessage,
  qos: QoS,
  retain: boolean,
  subscriptionIds: readonly number[] | undefined,
  now: number,
  alias: number,
  known: boolean,
): EncodedPublish {
  const properties: PublishProperties = { ...wireProperties(msg, now, subscriptionIds), topicAlias: alias };
  return encodePublish(known ? '' : msg.topic, msg.payload, qos, retain, 5, properties);
}
