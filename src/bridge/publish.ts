// Turning stored messages into MQTT.js publishes, and MQTT.js packets back into local messages.
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import type { MessageProperties } from '../broker/api.js';
import { setFields } from '../fields.js';
import type { StoredMessage } from './outbox/outbox.js';
import type { PublishFn } from './forwarder.js';

/** The message waited in the outbox past its MQTT 5 Message Expiry Interval: it must not be sent. */
export class MessageExpiredError extends Error {}

type PublishProperties = NonNullable<IClientPublishOptions['properties']>;

export function publisherFor(client: MqttClient, protocolVersion: 4 | 5): PublishFn {
  let corked = false;
  return (msg: StoredMessage, done) => {
    // Everything published in one tick leaves in one socket write.
    if (!corked && typeof client.stream?.cork === 'function') {
      corked = true;
      client.stream.cork();
      process.nextTick(() => {
        corked = false;
        client.stream.uncork();
      });
    }
    const options: IClientPublishOptions = { qos: msg.qos, retain: msg.retain };
    if (protocolVersion === 5 && msg.properties) {
      const props = toPublishProperties(msg.properties, msg.ts);
      if (props === 'expired') {
        done(new MessageExpiredError(`message on ${msg.topic} expired in the outbox`));
        return;
      }
      options.properties = props;
    }
    client.publish(msg.topic, msg.payload, options, (err) => done(err ?? undefined));
  };
}

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
