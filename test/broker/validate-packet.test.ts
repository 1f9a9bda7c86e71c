// The raw packet checks must never refuse a valid packet: every packet mqtt-packet generates, with
// every v5 property, passes them; and the string rule is checked at the byte level.
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { packetProblem, wireStringProblem } from '../../src/broker/validate-packet.js';

const userProperties = { site: 'plant-1', ключ: ['значение', '€'] };

function samples(version: 4 | 5): Packet[] {
  const v5 = version === 5;
  return [
    {
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: version,
      clientId: 'client-ü-€-😀',
      clean: true,
      keepalive: 30,
      username: 'opérateur',
      password: Buffer.from([0, 1, 2, 0xff]),
      will: {
        topic: 'plant/will/ü',
        payload: Buffer.from([0, 0xff]),
        qos: 1,
        retain: true,
        ...(v5 && {
          properties: {
            willDelayInterval: 5,
            payloadFormatIndicator: false,
            messageExpiryInterval: 60,
            contentType: 'application/octet-stream',
            responseTopic: 'plant/reply',
            correlationData: Buffer.from([1, 2]),
            userProperties,
          },
        }),
      },
      ...(v5 && {
        properties: {
          sessionExpiryInterval: 100,
          receiveMaximum: 10,
          maximumPacketSize: 100_000,
          topicAliasMaximum: 5,
          requestResponseInformation: true,
          requestProblemInformation: true,
          userProperties,
          authenticationMethod: 'none',
          authenticationData: Buffer.from([9]),
        },
      }),
    },
    {
      cmd: 'publish',
      topic: 'plant/line 1/tëmp/\uFFFD',
      payload: Buffer.from([0, 0x0a, 0xff]),
      qos: 2,
      messageId: 9,
      retain: false,
      dup: true,
      ...(v5 && {
        properties: {
          payloadFormatIndicator: true,
          messageExpiryInterval: 10,
          topicAlias: 2,
          responseTopic: 'plant/reply',
          correlationData: Buffer.from('c'),
          userProperties,
          contentType: 'text/plain; charset=utf-8',
        },
      }),
    },
    { cmd: 'publish', topic: 'a', payload: Buffer.alloc(0), qos: 0, retain: true, dup: false },
    {
      cmd: 'subscribe',
      messageId: 3,
      subscriptions: [
        { topic: 'plant/+/tëmp/#', qos: 2, ...(v5 && { nl: true, rap: true, rh: 2 }) },
        { topic: '$share/g/plant/#', qos: 0 },
      ],
      ...(v5 && { properties: { subscriptionIdentifier: 200_000, userProperties } }),
    },
    {
      cmd: 'unsubscribe',
      messageId: 4,
      unsubscriptions: ['plant/+/tëmp/#', 'x'],
      ...(v5 && { properties: { userProperties } }),
    },
    { cmd: 'puback', messageId: 1 },
    { cmd: 'pubrec', messageId: 2 },
    { cmd: 'pubrel', messageId: 3 },
    { cmd: 'pubcomp', messageId: 4 },
    ...(v5
      ? ([
          { cmd: 'puback', messageId: 1, reasonCode: 0x10 },
          {
            cmd: 'pubrec',
            messageId: 2,
            reasonCode: 0x80,
            properties: { reasonString: 'nö', userProperties },
          },
          { cmd: 'pubrel', messageId: 3, reasonCode: 0x92, properties: { reasonString: 'x' } },
          { cmd: 'disconnect', reasonCode: 0x04 },
          {
            cmd: 'disconnect',
            reasonCode: 0,
            properties: { sessionExpiryInterval: 5, reasonString: 'bye', userProperties },
          },
        ] as Packet[])
      : []),
    { cmd: 'pingreq' },
    { cmd: 'disconnect' },
  ];
}

describe.each([4, 5] as const)('MQTT %s', (version) => {
  it('passes every valid packet', () => {
    for (const sample of samples(version)) {
      const bytes = mqttPacket.generate(sample, { protocolVersion: version });
      expect(packetProblem(bytes, 0, bytes.length, version), sample.cmd).toBeNull();
    }
  });

  it('refuses each of them cut short by a byte, where the cut can be seen', () => {
    for (const sample of samples(version)) {
      if (sample.cmd === 'publish' || sample.cmd === 'pingreq' || sample.cmd === 'disconnect') continue;
      const bytes = mqttPacket.generate(sample, { protocolVersion: version });
      // The same packet claiming one byte less: its last field is truncated.
      const cut = Buffer.from(bytes.subarray(0, bytes.length - 1));
      cut[1] = cut[1]! - 1;
      if (cut[1]! & 0x80 || bytes[1]! & 0x80) continue; // multi-byte lengths: not this simple cut
      if (version === 5 && bytes[1]! <= 4) continue; // a v5 ack cut to its id (and reason code) is valid
      expect(packetProblem(cut, 0, cut.length, version), sample.cmd).not.toBeNull();
    }
  });
});

describe('string rule on bytes', () => {
  const check = (bytes: number[], identifier = true) =>
    wireStringProblem(Buffer.from(bytes), 0, bytes.length, 'topic', identifier);
  it.each([
    ['ASCII', [0x61, 0x2f, 0x62], null],
    ['U+00A0', [0xc2, 0xa0], null],
    ['U+FFFD', [0xef, 0xbf, 0xbd], null],
    ['U+1F600', [0xf0, 0x9f, 0x98, 0x80], null],
    ['U+0000', [0x61, 0x00], 'U+0000'],
    ['U+001F', [0x1f], 'control character U+001F'],
    ['U+007F', [0x7f], 'control character U+007F'],
    ['U+0080', [0xc2, 0x80], 'control character U+0080'],
    ['U+009F', [0xc2, 0x9f], 'control character U+009F'],
    ['surrogate', [0xed, 0xa0, 0x80], 'not well-formed UTF-8'],
    ['overlong NUL', [0xc0, 0x80], 'not well-formed UTF-8'],
    ['lone continuation byte', [0x80], 'not well-formed UTF-8'],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 'not well-formed UTF-8'],
  ] as const)('%s', (_name, bytes, problem) => {
    const found = check([...bytes]);
    if (problem === null) expect(found).toBeNull();
    else expect(found).toContain(problem);
  });

  it('lets control characters through in strings that are not identifiers', () => {
    expect(check([0x61, 0x0a, 0xc2, 0x85], false)).toBeNull();
    expect(check([0x61, 0x00], false)).toContain('U+0000');
  });
});
