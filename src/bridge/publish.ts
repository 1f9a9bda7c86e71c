// MQTT 5 properties between the outbox and the wire: counted down on the way up (expiry), and
// picked from MQTT.js packets on the way in.
import type { IClientPublishOptions } from 'mqtt';
import type { MessageProperties } from '../broker/api.js';
import { setFields } from '../fields.js';

/** The message waited in the outbox past its MQTT 5 Message Expiry Interval: it must not be sent. */
export class MessageExpiredError extends Error {}

type PublishProperties = NonNullable<IClientPublishOptions['properties']>;

/** The MQTT 5 properties that travel as they are (the expiry is counted down on the way). */
const COPIED = [
  'contentType',
  'payloadFormatIndicator',
  'responseTopic',
  'correlationData',
  'userProperties',
] as const;

/** MQTT 5 properties for the wire, the expiry counted down by the time spent waiting. */
export function toPublishProperties(p: MessageProperties, storedAt: number): PublishProperties | 'expired' {
  const out: PublishProperties = setFields(p, COPIED);
  if (p.messageExpiryInterval !== undefined) {
    const left = p.messageExpiryInterval - Math.floor((Date.now() - storedAt) / 1000);
    if (left <= 0) return 'expired';
    out.messageExpiryInterval = left;
  }
  return out;
}

/** The MQTT 5 properties of a received packet that travel with a message. */
export function fromPublishProperties(p: PublishProperties | undefined): MessageProperties | undefined {
  if (!p) return undefined;
  const out: MessageProperties = setFields(p, [...COPIED, 'messageExpiryInterval']);
  return Object.keys(out).length > 0 ? out : undefined;
}
