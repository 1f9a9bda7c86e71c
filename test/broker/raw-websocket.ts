// A WebSocket client written by hand on a raw TCP socket, for frames no WebSocket library would
// send: text frames to an MQTT listener, frames trickled byte by byte, peers that never answer a
// close frame.
import net from 'node:net';
import { waitFor } from '../helpers/net.js';

export interface RawWebSocket {
  socket: net.Socket;
  /** Resolves when the TCP connection closed. */
  ended: Promise<void>;
  /** Bytes received after the HTTP upgrade response (server frames are not masked). */
  frames(): Buffer;
  write(bytes: Buffer): void;
}

/** One client frame (masked, as RFC 6455 requires) with `opcode`: 1 text, 2 binary, 8 close. */
export function wsFrame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const header =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
      : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([header, mask, masked]);
}

/** The MQTT payloads of the binary frames the server sent, joined. */
export function binaryPayloads(frames: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 2 <= frames.length) {
    const opcode = frames[pos]! & 0x0f;
    let length = frames[pos + 1]! & 0x7f;
    let start = pos + 2;
    if (length === 126) {
      length = frames.readUInt16BE(pos + 2);
      start += 2;
    } else if (length === 127) {
      length = Number(frames.readBigUInt64BE(pos + 2));
      start += 8;
    }
    if (start + length > frames.length) break;
    if (opcode === 2) out.push(frames.subarray(start, start + length));
    pos = start + length;
  }
  return Buffer.concat(out);
}

/** The close code of the first close frame the server sent, or undefined. */
export function closeCode(frames: Buffer): number | undefined {
  let pos = 0;
  while (pos + 2 <= frames.length) {
    const opcode = frames[pos]! & 0x0f;
    const length = frames[pos + 1]! & 0x7f; // server control frames are short
    if (opcode === 8) return length >= 2 ? frames.readUInt16BE(pos + 2) : undefined;
    pos += 2 + (length === 126 ? 2 + frames.readUInt16BE(pos + 2) : length);
  }
  return undefined;
}

/** Connects and completes the upgrade to the "mqtt" subprotocol. */
export async function rawWebSocket(port: number, path = '/mqtt'): Promise<RawWebSocket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let received = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Protocol: mqtt',
      '',
      '',
    ].join('\r\n'),
  );
  const headerEnd = await waitFor(
    () => {
      const at = received.indexOf('\r\n\r\n');
      return at >= 0 ? at + 4 : 0;
    },
    10_000,
    'the WebSocket upgrade',
  );
  const status = received.subarray(0, received.indexOf('\r\n')).toString();
  if (!status.includes(' 101 ')) throw new Error(`upgrade refused: ${status}`);
  return {
    socket,
    ended,
    frames: () => received.subarray(headerEnd),
    write: (bytes) => socket.write(bytes),
  };
}
