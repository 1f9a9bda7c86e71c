// Transport over a WebSocket (MQTT over WebSockets: binary frames, subprotocol "mqtt"). A frame may
// hold several packets or part of one, so a tick's packets go out as one frame.
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Transport } from './transport.js';

export class WebSocketTransport implements Transport {
  /** When bytes of a frame not yet complete started arriving; 0 when none are pending. */
  private frameSince = 0;
  /** Set by a text frame: nothing more is read from this client. */
  private refused = false;
  private readonly socket: Socket | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    readonly peerCommonName: string | undefined,
  ) {
    ws.on('error', () => undefined);
    // ws parses frames in its own 'data' listener; this one runs first and marks a frame under way
    // until ws hands over a whole message, ping or pong (so a trickled frame is noticed too).
    this.socket = (ws as unknown as { _socket?: Socket })._socket;
    this.socket?.prependListener('data', () => {
      if (this.frameSince === 0) this.frameSince = Date.now();
    });
    const frameDone = (): void => {
      this.frameSince = 0;
    };
    ws.on('ping', frameDone);
    ws.on('pong', frameDone);
  }

  write(chunks: Buffer[], totalBytes: number): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, totalBytes), { binary: true });
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  pendingInputSince(): number {
    return this.frameSince;
  }

  end(): void {
    this.ws.close(1000);
  }

  destroy(): void {
    this.ws.terminate();
  }

  onData(handler: (chunk: Buffer) => void): void {
    this.ws.on('message', (data, isBinary) => {
      this.frameSince = 0;
      if (this.refused) return;
      if (!isBinary) {
        // MQTT over WebSocket is binary only (MQTT-6.0.0-1): the connection ends here, without
        // waiting for the peer to answer the close frame.
        this.refused = true;
        this.ws.close(1003, 'MQTT needs binary frames');
        setImmediate(() => this.ws.terminate());
        return;
      }
      if (Buffer.isBuffer(data)) handler(data);
      else if (Array.isArray(data)) handler(Buffer.concat(data));
      else handler(Buffer.from(data));
    });
  }

  onDrain(handler: () => void): void {
    // ws has no drain event; its socket does.
    this.socket?.on('drain', handler);
  }

  onClose(handler: () => void): void {
    this.ws.on('close', handler);
  }
}
