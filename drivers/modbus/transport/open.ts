// Opens the byte stream under a Modbus link: a TCP socket or a serial port.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TransportConfig } from '../config.js';

export function describeTransport(transport: TransportConfig): string {
  return transport.type === 'rtu'
    ? `rtu:${transport.path}`
    : `${transport.type}:${transport.host}:${transport.port}`;
}

export function openStream(transport: TransportConfig): Promise<Duplex> {
  return transport.type === 'rtu'
    ? openSerial(transport)
    : openTcp(transport.host, transport.port, transport.connectTimeoutMs);
}

function openTcp(host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

async function openSerial(transport: Extract<TransportConfig, { type: 'rtu' }>): Promise<Duplex> {
  // Loaded on first use: TCP-only gateways never load the native serial bindings.
  const { SerialPort } = await import('serialport');
  return new Promise((resolve, reject) => {
    const port = new SerialPort({
      path: transport.path,
      baudRate: transport.baudRate,
      parity: transport.parity,
      dataBits: transport.dataBits,
      stopBits: transport.stopBits,
      autoOpen: false,
    });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
}

/** RTU needs 3.5 character times of silence between frames; 1.75 ms fixed above 19200 bit/s. */
export function interFrameDelayMs(transport: TransportConfig): number {
  if (transport.type === 'tcp') return 0;
  if (transport.interFrameDelayMs !== undefined) return transport.interFrameDelayMs;
  if (transport.type === 'rtu-over-tcp') return 2;
  const bitsPerChar = 1 + transport.dataBits + (transport.parity === 'none' ? 0 : 1) + transport.stopBits;
  return transport.baudRate > 19200 ? 1.75 : (3.5 * bitsPerChar * 1000) / transport.baudRate;
}
