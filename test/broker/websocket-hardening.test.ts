// MQTT over WebSocket is binary only: a text frame ends the connection at once, even with a peer
// that never answers the close frame, and nothing after it is acted on. A SUBSCRIBE with invalid
// UTF-8 over WebSocket is a malformed packet like over TCP: closed, no SUBACK.
import type { IDisconnectPacket } from 'mqtt-packet';
import { afterEach, beforeAll, expect, it } from 'vitest';
import {
  collect,
  connect,
  connectPacket,
  packet,
  parsePackets,
  subscribe,
  useBroker,
  waitForCount,
} from './helpers.js';
import { binaryPayloads, closeCode, rawWebSocket, wsFrame, type RawWebSocket } from './raw-websocket.js';
import { waitFor } from '../helpers/net.js';

const b = useBroker({
  listeners: [
    { protocol: 'mqtt', host: '127.0.0.1', port: 0 },
    { protocol: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
  ],
});
let wsPort: number;
const sockets: RawWebSocket[] = [];
beforeAll(() => {
  wsPort = b.broker.listening().find((l) => l.protocol === 'ws')!.port;
});
afterEach(() => {
  for (const s of sockets.splice(0)) s.socket.destroy();
});

async function opened(version: 4 | 5, clientId: string): Promise<RawWebSocket> {
  const ws = await rawWebSocket(wsPort);
  sockets.push(ws);
  ws.write(wsFrame(2, connectPacket(clientId, { protocolVersion: version, keepalive: 0 })));
  await waitFor(() => parsePackets(binaryPayloads(ws.frames()), version).length > 0, 10_000, 'CONNACK');
  return ws;
}

/** Resolves when `ended` does, or fails after `ms`. */
async function closedWithin(ended: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ended,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

it('closes at once on a text frame, and acts on nothing after it', async () => {
  const watcher = await connect(`ws://127.0.0.1:${wsPort}/mqtt`, { clientId: 'ws-watcher' });
  const got = collect(watcher);
  await subscribe(watcher, 'ws/#', { qos: 0 });
  const ws = await opened(4, 'ws-texter');
  const retained = packet({
    cmd: 'publish',
    topic: 'ws/after-text',
    payload: Buffer.from('must not be taken'),
    qos: 0,
    retain: true,
    dup: false,
  });
  // The text frame, then a binary frame carrying a retained PUBLISH, in one TCP write. This peer
  // never answers the close frame: the broker must not wait for it.
  ws.write(Buffer.concat([wsFrame(1, Buffer.from('hello')), wsFrame(2, retained)]));
  await closedWithin(ws.ended, 5000);
  expect(closeCode(ws.frames())).toBe(1003);
  expect(b.broker.stats().retained).toBe(0);

  // The broker serves the next WebSocket client as before.
  const next = await connect(`ws://127.0.0.1:${wsPort}/mqtt`, { clientId: 'ws-next' });
  await next.publishAsync('ws/fine', 'yes', { qos: 1 });
  await waitForCount(got, 1);
  expect(got.map((m) => m.topic)).toEqual(['ws/fine']);
});

it.each([4, 5] as const)('closes a v%i client sending invalid UTF-8 in a SUBSCRIBE', async (version) => {
  const ws = await opened(version, `ws-utf8-${version}`);
  const before = binaryPayloads(ws.frames()).length;
  // SUBSCRIBE, packet id 1, [v5: no properties], filter "a" 0xFF "b", QoS 0.
  const body = Buffer.from([
    0x00,
    0x01,
    ...(version === 5 ? [0x00] : []),
    0x00,
    0x03,
    0x61,
    0xff,
    0x62,
    0x00,
  ]);
  ws.write(wsFrame(2, Buffer.concat([Buffer.from([0x82, body.length]), body])));
  await closedWithin(ws.ended, 10_000);
  const after = parsePackets(binaryPayloads(ws.frames()).subarray(before), version);
  if (version === 5) {
    expect(after.map((p) => p.cmd)).toEqual(['disconnect']);
    expect((after[0] as IDisconnectPacket).reasonCode).toBe(0x81);
  } else {
    expect(after).toEqual([]);
  }
});
