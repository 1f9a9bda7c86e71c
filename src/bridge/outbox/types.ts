// What goes into the outbox and what it reports: its messages, limits, hooks and figures.
import type { MessageProperties, QoS } from '../../broker/api.js';

export interface OutboxMessage {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
}

export interface StoredMessage extends OutboxMessage {
  seq: number;
  /** Commit time, epoch ms. */
  ts: number;
  bytes: number;
}

export type DropPolicy = 'drop-oldest' | 'drop-newest';
export type DropReason = 'max-messages' | 'max-bytes' | 'max-age' | 'write-failed' | 'disk-reserve';

export interface OutboxLimits {
  maxMessages: number;
  maxBytes: number;
  /** 0: no age limit. */
  maxAgeSec: number;
  dropPolicy: DropPolicy;
  /** Bytes kept free on the data disk: below, new messages are refused. 0 or absent: no reserve. */
  minFreeBytes?: number;
}

export interface OutboxHooks {
  /** Rows now durable, in seq order: only from here on do they count as taken. */
  onCommitted(batch: readonly StoredMessage[]): void;
  onDropped(count: number, reason: DropReason): void;
  /** A storage operation failed; `items` messages were concerned. */
  onError(err: Error, during: string, items: number): void;
}

export interface OutboxStats {
  messages: number;
  bytes: number;
  /** Commit time of the oldest stored message, epoch ms. */
  oldestTs?: number;
  dropped: Record<DropReason, number>;
  committed: number;
}
