// A byte stream under one MQTT connection, whatever carries it (TCP, TLS, WebSocket).
export interface Transport {
  readonly remoteAddress: string;
  /** Subject CN of a verified TLS client certificate, when there is one. */
  readonly peerCommonName: string | undefined;
  /** Writes several packets at once (one syscall where the transport allows). */
  write(chunks: Buffer[], totalBytes: number): void;
  /** Bytes handed to the transport and not yet sent. */
  bufferedBytes(): number;
  /**
   * Since when the transport has held the start of a frame it has not passed on yet (WebSocket);
   * 0 when it holds none. A plain socket passes every byte on at once.
   */
  pendingInputSince(): number;
  /** Closes once what was written is sent. */
  end(): void;
  destroy(): void;
  onData(handler: (chunk: Buffer) => void): void;
  onDrain(handler: () => void): void;
  onClose(handler: () => void): void;
}
