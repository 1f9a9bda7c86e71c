// The simulator's wire side: Modbus TCP, RTU over TCP, or RTU on a serial port. Every complete
// request in a chunk is answered, and the replies leave in one write (no per-request timers).
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ModbusSimulatorConfig } from '../config.js';
import { crcMatches, rtuFrame } from '../crc.js';
import { requestPduLength } from '../pdu.js';
import { handleRequest } from './handler.js';
import type { SimUnits } from './units.js';

export interface ServeStats {
  requests: number;
  malformed: number;
  /** TCP connections accepted so far. */
  connections: number;
}

/** Wires one byte stream (a TCP connection or a serial port) to the units. */
export function serveStream(
  stream: Duplex,
  config: ModbusSimulatorConfig,
  units: SimUnits,
  stats: ServeStats,
): void {
  const rtu = config.mode !== 'tcp';
  let buffer: Buffer = Buffer.alloc(0);
  let lastData = 0;
  let replies = 0;

  const reply = (frames: Buffer[]) => {
    if (frames.length === 0 || stream.destroyed) return;
    const out = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames);
    if (config.faults.delayMs > 0)
      setTimeout(() => !stream.destroyed && stream.write(out), config.faults.delayMs);
    else stream.write(out);
  };

  /** Fault injection: every Nth reply comes out damaged (bad MBAP header on TCP, bad CRC on RTU). */
  const maybeDamage = (frame: Buffer): Buffer => {
    replies++;
    if (config.faults.garbageEvery === 0 || replies % config.faults.garbageEvery !== 0) return frame;
    const damaged = Buffer.from(frame);
    if (rtu) damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0xff;
    else damaged.writeUInt16BE(0xbeef, 2);
    return damaged;
  };

  stream.on('data', (chunk: Buffer) => {
    const now = performance.now();
    // RTU frames end with silence: bytes after a pause start a new frame, whatever came before.
    if (rtu && now - lastData > 50) buffer = Buffer.alloc(0);
    lastData = now;
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      if (rtu) {
        if (buffer.length < 2) break;
        const pduLength = requestPduLength(buffer.subarray(1));
        if (pduLength === undefined || buffer.length < pduLength + 3) break;
        const frame = buffer.subarray(0, pduLength + 3);
        buffer = buffer.subarray(pduLength + 3);
        if (!crcMatches(frame)) {
          stats.malformed++;
          buffer = Buffer.alloc(0);
          break;
        }
        const unit = units.answering(frame[0] as number);
        stats.requests++;
        if (unit)
          out.push(
            maybeDamage(
              rtuFrame(
                frame[0] as number,
                handleRequest(unit.memory, frame.subarray(1, pduLength + 1), config.faults.refuseFunctions),
              ),
            ),
          );
      } else {
        if (buffer.length < 7) break;
        const length = buffer.readUInt16BE(4);
        if (buffer.readUInt16BE(2) !== 0 || length < 2 || length > 254) {
          // Not Modbus TCP: this connection cannot be resynchronised, so it ends; others go on.
          stats.malformed++;
          stream.destroy();
          return;
        }
        if (buffer.length < 6 + length) break;
        const unitId = buffer[6] as number;
        const unit = units.answering(unitId);
        stats.requests++;
        if (unit) {
          const pdu = handleRequest(
            unit.memory,
            buffer.subarray(7, 6 + length),
            config.faults.refuseFunctions,
          );
          const frame = Buffer.allocUnsafe(7 + pdu.length);
          buffer.copy(frame, 0, 0, 2);
          frame.writeUInt16BE(0, 2);
          frame.writeUInt16BE(pdu.length + 1, 4);
          frame[6] = unitId;
          pdu.copy(frame, 7);
          out.push(maybeDamage(frame));
        }
        buffer = buffer.subarray(6 + length);
      }
    }
    reply(out);
  });
  stream.on('error', () => stream.destroy());
}

export function listenTcp(
  config: ModbusSimulatorConfig,
  units: SimUnits,
  stats: ServeStats,
): Promise<{ server: net.Server; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    stats.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveStream(socket, config, units, stats);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve({ server, sockets });
    });
  });
}
