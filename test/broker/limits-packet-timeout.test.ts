// limits.packetTimeoutMs: a packet that has started must finish in time, whatever keeps the
// connection busy meanwhile (keep alive does not help: every trickled byte is activity). Over TCP
// and inside a WebSocket frame, for CONNECT too.
import type { IDisconnectPacket } from 'mqtt-packet';
import { beforeAll, expect, it } from 'vitest';
import {
  collect,
  connect,
  connectPacket,
  packet,
  parsePackets,
  rawSocket,
  subscribe,
  useBroker,
  waitForCount,
} from './helpers.js';
import { rawWebSocket, wsFrame } from './raw-websocket.js';
import { waitFor } from '../helpers/net.js';

const TIMEOUT_MS = 400;
const b = useBroker({
  listeners: [
    { protocol: 'mqtt', host: '127.0.0.1', port: 0 },
    { protocol: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
  ],
  // A long connect timeout: what closes the trickled CONNECT below is the packet timeout.
  limits: { packetTimeoutMs: TIMEOUT_MS, connectTimeoutMs: 120_000 },
});
let wsPort: number;
beforeAll(() => {
  wsPort = b.broker.listening().find((l) => l.protocol === 'ws')!.port;
});

/** Writes `bytes` one at a time every `everyMs` until the socket closes; returns bytes written. */
async function trickle(write: (b: Buffer) => void, closed: Promise<void>, bytes: Buffer, everyMs: number) {
  let gone = false;
  void closed.then(() => (gone = true));
  let written = 0;
  while (!gone && written < bytes.length) {
    write(bytes.subarray(written, written + 1));
    written++;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return written;
}

const bigPublish = (version: 4 | 5) =>
  packet(
    {
      cmd: 'publish',
      topic: 'slow/t',
      payload: Buffer.alloc(500, 0x61),
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    },
    version,
  );

it.each([4, 5] as const)('closes a v%i client trickling a PUBLISH (keep alive 0)', async (version) => {
  const sub = await connect(b.url, { clientId: `slow-watch-${version}` });
  const got = collect(sub);
  await subscribe(sub, 'slow/#', { qos: 1 });
  const s = await rawSocket(b.port);
  s.write(connectPacket(`trickler-${version}`, { protocolVersion: version, keepalive: 0 }));
  await waitFor(() => parsePackets(s.all(), version).length > 0, 10_000, 'CONNACK');
  s.received.splice(0);
  const bytes = bigPublish(version);
  const written = await trickle((x) => s.write(x), s.ended, bytes, 20);
  expect(written).toBeLessThan(bytes.length);
  if (version === 5) {
    const disconnect = parsePackets(s.all(), 5)[0] as IDisconnectPacket;
    expect(disconnect.cmd).toBe('disconnect');
    expect(disconnect.reasonCode).toBe(0x8d);
    expect(disconnect.properties?.reasonString).toContain('not completed within 400 ms');
  }
  // Others are unaffected.
  await sub.publishAsync('slow/ok', 'fine', { qos: 1 });
  await waitForCount(got, 1);
  expect(got.map((m) => m.topic)).toEqual(['slow/ok']);
});

it('closes a client trickling its CONNECT', async () => {
  const s = await rawSocket(b.port);
  const bytes = connectPacket('x'.repeat(200), { protocolVersion: 4 });
  const written = await trickle((x) => s.write(x), s.ended, bytes, 20);
  expect(written).toBeLessThan(bytes.length);
  expect(s.all().length).toBe(0);
});

it('keeps a client whose packets arrive in pieces within the time', async () => {
  const sub = await connect(b.url, { clientId: 'pieces-watch' });
  const got = collect(sub);
  await subscribe(sub, 'pieces/#', { qos: 1 });
  const s = await rawSocket(b.port);
  s.write(connectPacket('pieces', { keepalive: 0 }));
  await waitFor(() => parsePackets(s.all()).length > 0, 10_000, 'CONNACK');
  for (let i = 0; i < 3; i++) {
    const p = packet({
      cmd: 'publish',
      topic: 'pieces/t',
      payload: Buffer.from(`p${i}`),
      qos: 0,
      retain: false,
      dup: false,
    });
    s.write(p.subarray(0, 5));
    await new Promise((r) => setTimeout(r, 50));
    s.write(p.subarray(5));
  }
  await waitForCount(got, 3);
  expect(s.socket.destroyed).toBe(false);
});

it('closes a WebSocket client trickling the bytes of one frame', async () => {
  const ws = await rawWebSocket(wsPort);
  ws.write(wsFrame(2, connectPacket('ws-trickler', { protocolVersion: 5, keepalive: 0 })));
  await waitFor(() => ws.frames().length > 0, 10_000, 'CONNACK');
  // The whole PUBLISH in one binary frame, whose bytes arrive one by one: the broker sees nothing
  // of the packet until the frame is complete, yet the clock runs from its first byte.
  const frame = wsFrame(2, bigPublish(5));
  const written = await trickle((x) => ws.write(x), ws.ended, frame, 20);
  expect(written).toBeLessThan(frame.length);
});
