// Transport over a WebSocket (MQTT over WebSockets: binary frames, subprotocol "mqtt"). A frame may
// hold several packets or part of one, so a tick's packets go out as one frame.
import type { WebSocket } from 'ws';
import type { Transport } from './transport.js';

export class WebSocketTransport implements Transport {
  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    readonly peerCommonName: string | undefined,
  ) {
    ws.on('error', () => undefined);
  }

  write(chunks: Buffer[], totalBytes: number): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, totalBytes), { binary: true });
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  end(): void {
    this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        // MQTT over WebSocket is binary only (MQTT-6.0.0-1).
        this.ws.close(1003, 'MQTT needs binary frames');
        return;
      }
      if (Buffer.isBuffer(data)) handler(data);
      else if (Array.isArray(data)) handler(Buffer.concat(data));
      else handler(Buffer.from(data));
    });
  }

  onDrain(handler: () => void): void {
    // ws has no drain event; its socket does.
    const socket = (this.ws as unknown as { _socket?: { on(e: 'drain', h: () => void): void } })._socket;
    socket?.on('drain', handler);
  }

  onClose(handler: () => void): void {
    this.ws.on('close', handler);
  }
}
