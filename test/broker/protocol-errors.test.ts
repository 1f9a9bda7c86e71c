// Protocol errors that MQTT 3.1.1 and 5.0 make a reason to close the connection, written byte by
// byte on raw sockets: the connection is closed (v5: after DISCONNECT with the reason code, or
// CONNACK for a CONNECT), nothing of the bad packet is acted on, and a well-behaved client on the
// same broker carries on.
import type { IConnackPacket, IDisconnectPacket, IPublishPacket } from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  closeRawSockets,
  collect,
  connect,
  connectPacket,
  packet,
  parsePackets,
  rawSocket,
  subscribe,
  useBroker,
  waitForCount,
  type RawClient,
  type Received,
} from './helpers.js';
import { waitFor } from '../helpers/net.js';

type Version = 4 | 5;
const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;

// The well-behaved pair lives across the tests: the fixture closes it after all of them.
const b = useBroker({}, { keepClients: true });
let watcher: MqttClient;
let watched: Received[];
let publisher: MqttClient;
let round = 0;

beforeAll(async () => {
  watcher = await connect(b.url, { clientId: 'well-behaved-sub', protocolVersion: 5 });
  watched = collect(watcher);
  await subscribe(watcher, ['alive', 'bad/#'], { qos: 1 });
  publisher = await connect(b.url, { clientId: 'well-behaved-pub', protocolVersion: 4 });
});
afterEach(async () => {
  closeRawSockets();
  // The well-behaved pair still works after every bad client, and nothing of the bad one arrived.
  const n = ++round;
  await publisher.publishAsync('alive', `round ${n}`, { qos: 1 });
  await waitFor(() => watched.some((m) => m.payload === `round ${n}`), 10_000, `round ${n}`);
  expect(watched.filter((m) => m.topic !== 'alive')).toEqual([]);
  expect(watcher.connected && publisher.connected).toBe(true);
});

/** Concatenates bytes, byte arrays, buffers and ASCII strings into one packet. */
const bytes = (...parts: (number | number[] | string | Buffer)[]): Buffer =>
  Buffer.concat(
    parts.map((p) =>
      Buffer.isBuffer(p)
        ? p
        : typeof p === 'string'
          ? Buffer.from(p)
          : Buffer.from(typeof p === 'number' ? [p] : p),
    ),
  );

/** A raw client past CONNACK, with the CONNACK bytes dropped from what it received. */
async function opened(version: Version, clientId: string): Promise<RawClient> {
  const s = await rawSocket(b.port);
  s.write(connectPacket(clientId, { protocolVersion: version, keepalive: 0 }));
  await waitFor(() => parsePackets(s.all(), version).length > 0, 10_000, 'CONNACK');
  expect((parsePackets(s.all(), version)[0] as IConnackPacket).cmd).toBe('connack');
  s.received.splice(0);
  return s;
}

/** Resolves with `promise`, or fails the test after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The connection closes; v5 gets DISCONNECT with `reason` first, v3.1.1 nothing at all. */
async function expectClosed(s: RawClient, version: Version, reason: number): Promise<void> {
  await within(s.ended, 10_000, 'the broker to close the connection');
  const got = parsePackets(s.all(), version);
  if (version === 5) {
    expect(got.map((p) => p.cmd)).toEqual(['disconnect']);
    expect((got[0] as IDisconnectPacket).reasonCode).toBe(reason);
  } else {
    expect(got).toEqual([]);
  }
}

/** Sends `bad` on a fresh connection of `version` and expects it closed with `reason`. */
async function refused(version: Version, bad: Buffer, reason = MALFORMED): Promise<void> {
  const s = await opened(version, `bad-${version}-${round}`);
  s.write(bad);
  await expectClosed(s, version, reason);
}

const props = (version: Version): number[] => (version === 5 ? [0x00] : []);

describe.each([4, 5] as const)('MQTT %s', (version) => {
  const v5 = version === 5;

  it('closes on a QoS 0 PUBLISH with DUP set', async () => {
    // 0x38: PUBLISH, DUP, QoS 0. Topic "bad/dup", payload "x".
    const body = bytes(0, 7, 'bad/dup', props(version), 'x');
    await refused(version, bytes(0x38, body.length, body));
  });

  describe('closes on an acknowledgement or PINGREQ with a wrong remaining length', () => {
    const cases: [string, number[]][] = v5
      ? [
          ['PUBACK of length 1', [0x40, 0x01, 0x00]],
          ['PUBACK of length 0', [0x40, 0x00]],
          ['PUBACK longer than its properties', [0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x07]],
          ['PUBREC of length 1', [0x50, 0x01, 0x00]],
          ['PUBREL of length 1', [0x62, 0x01, 0x00]],
          ['PUBREL whose property length overruns it', [0x62, 0x04, 0x00, 0x01, 0x00, 0x05]],
          ['PUBCOMP of length 0', [0x70, 0x00]],
          ['PINGREQ of length 1', [0xc0, 0x01, 0x00]],
        ]
      : [
          ['PUBACK of length 3', [0x40, 0x03, 0x00, 0x01, 0x00]],
          ['PUBACK of length 1', [0x40, 0x01, 0x00]],
          ['PUBREC of length 3', [0x50, 0x03, 0x00, 0x01, 0x00]],
          ['PUBREL of length 3', [0x62, 0x03, 0x00, 0x01, 0x00]],
          ['PUBCOMP of length 4', [0x70, 0x04, 0x00, 0x01, 0x00, 0x00]],
          ['PUBCOMP of length 0', [0x70, 0x00]],
          ['PINGREQ of length 1', [0xc0, 0x01, 0x00]],
        ];
    it.each(cases)('%s', async (_name, packetBytes) => {
      // Followed by a PINGREQ, which must not be answered: the bad packet ended the connection.
      await refused(version, bytes(packetBytes, [0xc0, 0x00]));
    });
  });

  describe('closes on an acknowledgement that answers a flow not at that step', () => {
    /** A raw subscriber to ok/flow/# that has received one message of `qos` from the broker. */
    async function withMessage(qos: 1 | 2): Promise<[RawClient, number]> {
      const s = await opened(version, `flow-${version}-${round}`);
      s.write(
        packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok/flow/#', qos }] }, version),
      );
      await waitFor(() => parsePackets(s.all(), version).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
      s.received.splice(0);
      b.broker.publish({ topic: `ok/flow/${qos}`, payload: Buffer.from('m'), qos, retain: false });
      const sent = await waitFor(
        () => parsePackets(s.all(), version).find((p): p is IPublishPacket => p.cmd === 'publish'),
        10_000,
        'the PUBLISH',
      );
      s.received.splice(0);
      return [s, sent.messageId!];
    }
    const ack = (type: number, id: number) => bytes(type, 0x02, id >> 8, id & 0xff);

    it('PUBCOMP for a QoS 1 message', async () => {
      const [s, id] = await withMessage(1);
      s.write(ack(0x70, id));
      await expectClosed(s, version, PROTOCOL_ERROR);
    });

    it('PUBREC for a QoS 1 message', async () => {
      const [s, id] = await withMessage(1);
      s.write(ack(0x50, id));
      await expectClosed(s, version, PROTOCOL_ERROR);
    });

    it('PUBACK for a QoS 2 message', async () => {
      const [s, id] = await withMessage(2);
      s.write(ack(0x40, id));
      await expectClosed(s, version, PROTOCOL_ERROR);
    });

    it('PUBCOMP for a QoS 2 message before its PUBREC', async () => {
      const [s, id] = await withMessage(2);
      s.write(ack(0x70, id));
      await expectClosed(s, version, PROTOCOL_ERROR);
    });

    it('but takes the right ones, and tolerates an ack of an unknown id', async () => {
      const [s, id] = await withMessage(2);
      s.write(bytes(ack(0x40, 999), ack(0x50, id)));
      await waitFor(() => parsePackets(s.all(), version).some((p) => p.cmd === 'pubrel'), 10_000, 'PUBREL');
      s.write(bytes(ack(0x70, id), [0xc0, 0x00]));
      await waitFor(
        () => parsePackets(s.all(), version).some((p) => p.cmd === 'pingresp'),
        10_000,
        'PINGRESP',
      );
      expect(s.socket.destroyed).toBe(false);
    });
  });

  describe('closes on a bad topic filter in SUBSCRIBE or UNSUBSCRIBE', () => {
    const filters: [string, number[]][] = [
      ['empty', []],
      ['with U+0000', [0x61, 0x00, 0x62]],
      ['with an encoded surrogate U+D800', [0x61, 0xed, 0xa0, 0x80]],
      ['with invalid UTF-8', [0x61, 0xff, 0x62]],
      ['with a truncated UTF-8 sequence', [0x61, 0xc3]],
      ['with control character U+0001', [0x61, 0x01]],
      ['with control character U+001B', [0x1b, 0x5b, 0x32, 0x4a]],
      ['with control character U+007F', [0x61, 0x7f]],
      ['with control character U+0085', [0x61, 0xc2, 0x85]],
    ];
    it.each(filters)('SUBSCRIBE, filter %s', async (_name, filter) => {
      // A good filter first: the whole packet is refused, not just the bad entry.
      const body = bytes(0, 1, props(version), 0, 5, 'bad/x', 1, 0, filter.length, filter, 1);
      await refused(version, bytes(0x82, body.length, body));
    });
    it.each(filters)('UNSUBSCRIBE, filter %s', async (_name, filter) => {
      const body = bytes(0, 2, props(version), 0, filter.length, filter);
      await refused(version, bytes(0xa2, body.length, body));
    });
  });

  describe('closes on a PUBLISH whose topic breaks the string rule', () => {
    const topics: [string, number[]][] = [
      ['U+0000', [0x62, 0x61, 0x64, 0x2f, 0x00]],
      ['an encoded surrogate', [0x62, 0x61, 0x64, 0x2f, 0xed, 0xbf, 0xbf]],
      ['invalid UTF-8', [0x62, 0x61, 0x64, 0x2f, 0xc3, 0x28]],
      ['control character U+000A', [0x62, 0x61, 0x64, 0x2f, 0x0a]],
      ['control character U+009F', [0x62, 0x61, 0x64, 0x2f, 0xc2, 0x9f]],
    ];
    it.each(topics)('topic with %s, QoS 0 and QoS 1', async (_name, topic) => {
      const q0 = bytes(0, topic.length, topic, props(version), 'x');
      await refused(version, bytes(0x30, q0.length, q0));
      const q1 = bytes(0, topic.length, topic, 0, 7, props(version), 'x');
      await refused(version, bytes(0x32, q1.length, q1));
    });
  });

  describe('refuses a CONNECT whose strings break the string rule', () => {
    /** A CONNECT packet with `field` swapped for `replacement` bytes (same length). */
    const patched = (
      options: Parameters<typeof connectPacket>[1],
      clientId: string,
      field: string,
      replacement: number[],
    ): Buffer => {
      const p = connectPacket(clientId, { protocolVersion: version, ...options });
      const at = p.indexOf(field);
      expect(at).toBeGreaterThan(0);
      Buffer.from(replacement).copy(p, at);
      return p;
    };
    const cases: [string, () => Buffer][] = [
      [
        'client id with control character U+0001',
        () => connectPacket('id\u0001x', { protocolVersion: version }),
      ],
      ['client id with U+0000', () => patched({}, 'idZx', 'Z', [0x00])],
      ['client id with invalid UTF-8', () => patched({}, 'idZx', 'Z', [0xfe])],
      ['client id with U+0080', () => patched({}, 'idZZx', 'ZZ', [0xc2, 0x80])],
      [
        'will topic with control character U+000D',
        () =>
          connectPacket('will-cr', {
            protocolVersion: version,
            will: { topic: 'bad/will\r', payload: Buffer.from('w'), qos: 0, retain: false },
          }),
      ],
      [
        'username with control character U+000A',
        () => connectPacket('user-lf', { protocolVersion: version, username: 'op\nadmin' }),
      ],
    ];
    it.each(cases)('%s', async (_name, make) => {
      const s = await rawSocket(b.port);
      s.write(make());
      await s.ended;
      const got = parsePackets(s.all(), version);
      if (v5) {
        expect(got.map((p) => p.cmd)).toEqual(['connack']);
        expect((got[0] as IConnackPacket).reasonCode).toBe(MALFORMED);
      } else {
        expect(got).toEqual([]);
      }
    });
  });

  it('takes topics with any other character, including a real U+FFFD and U+00A0', async () => {
    const s = await opened(version, `utf8-${version}`);
    const topic = 'ok/café/\uFFFD/\u00A0/€/\u{1F600}';
    s.write(
      packet({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok/café/#', qos: 0 }] }, version),
    );
    await waitFor(() => parsePackets(s.all(), version).some((p) => p.cmd === 'suback'), 10_000, 'SUBACK');
    s.write(
      packet(
        { cmd: 'publish', topic, payload: Buffer.from('ok'), qos: 0, retain: false, dup: false },
        version,
      ),
    );
    const got = await waitFor(
      () => parsePackets(s.all(), version).find((p): p is IPublishPacket => p.cmd === 'publish'),
      10_000,
      'the message back',
    );
    expect(got.topic).toBe(topic);
  });

  it('publishes the will of a client closed for a DISCONNECT with a wrong length', async () => {
    // A DISCONNECT that is malformed is no clean end: the will goes (v3.1.1: length must be 0;
    // v5: the property length overruns the packet).
    const willWatcher = await connect(b.url, { clientId: `will-watch-${version}` });
    const wills = collect(willWatcher);
    await subscribe(willWatcher, 'ok/will/#', { qos: 0 });
    const s = await rawSocket(b.port);
    const will = {
      topic: `ok/will/${version}`,
      payload: Buffer.from('gone'),
      qos: 0 as const,
      retain: false,
    };
    s.write(connectPacket(`will-${version}`, { protocolVersion: version, will }));
    await waitFor(() => parsePackets(s.all(), version).length > 0, 10_000, 'CONNACK');
    s.received.splice(0);
    s.write(v5 ? bytes(0xe0, 0x02, 0x00, 0x05) : bytes(0xe0, 0x01, 0x00));
    await expectClosed(s, version, MALFORMED);
    await waitForCount(wills, 1, 'the will');
    expect(wills[0]!.payload).toBe('gone');
  });
});
