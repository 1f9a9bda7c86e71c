// Transport over a TCP or TLS socket.
import type net from 'node:net';
import type tls from 'node:tls';
import type { Transport } from './transport.js';

/**
 * A tick's packets up to this size go out as one buffer: a copy costs less than a stream entry and
 * an iovec per packet (a batch of 1,000 tag messages is some 80 KB in 1,000 packets), which a
 * socket whose reader takes one packet at a time keeps queued until it drains.
 */
const CONCAT_LIMIT = 1024 * 1024;

export class SocketTransport implements Transport {
  readonly remoteAddress: string;
  readonly peerCommonName: string | undefined;

  constructor(private readonly socket: net.Socket | tls.TLSSocket) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.peerCommonName = verifiedCommonName(socket);
    socket.setNoDelay(true);
    // Errors (resets, TLS alerts) end in 'close'; the listener keeps the process alive.
    socket.on('error', () => undefined);
  }

  write(chunks: Buffer[], totalBytes: number): void {
    if (this.socket.destroyed) return;
    if (chunks.length === 1) this.socket.write(chunks[0]!);
    else if (totalBytes <= CONCAT_LIMIT) this.socket.write(Buffer.concat(chunks, totalBytes));
    else {
      this.socket.cork();
      for (const chunk of chunks) this.socket.write(chunk);
      this.socket.uncork();
    }
  }

  bufferedBytes(): number {
    return this.socket.writableLength;
  }

  pendingInputSince(): number {
    return 0;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.socket.on('data', handler);
  }

  onDrain(handler: () => void): void {
    this.socket.on('drain', handler);
  }

  onClose(handler: () => void): void {
    this.socket.on('close', handler);
  }
}

function verifiedCommonName(socket: net.Socket | tls.TLSSocket): string | undefined {
  if (!('getPeerCertificate' in socket) || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined;
  const cn = subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
