// What a bridge reports: the status API shape and its $SYS topics.
import type { BrokerMessage } from '../broker/api.js';
import type { DropReason } from './outbox/outbox.js';
import type { UpstreamFailure } from './upstream.js';

export type BridgeState = 'starting' | 'connecting' | 'connected' | 'stopped';

/** Why a message was dropped: the outbox bounds, or at send time. */
export type BridgeDropReason = DropReason | 'offline' | 'expired' | 'rejected-upstream';

/** The upstream address a connected bridge uses. */
export interface BridgeAddressStatus {
  /** Without any user:password part. */
  url: string;
  /** Its place in `addresses`; 0 is the primary. */
  index: number;
  primary: boolean;
  /** Epoch ms: connected to it since. */
  since: number;
}

export interface BridgeStatus {
  name: string;
  /** The upstream in use, or the primary while none is (no user:password part). */
  url: string;
  /** The address of the current session; null while not connected. */
  address: BridgeAddressStatus | null;
  state: BridgeState;
  connected: boolean;
  /** Epoch ms of the last state change. */
  since: number;
  lastError?: UpstreamFailure;
  /** The last move from one upstream address to another, and why. */
  lastSwitch?: { from: string; to: string; reason: string; at: number };
  outbox: {
    messages: number;
    bytes: number;
    /** Age of the oldest waiting message, seconds; null when empty. */
    oldestAgeSec: number | null;
  };
  inflight: number;
  /** Messages acknowledged by the upstream (or written, for QoS 0). */
  sent: number;
  /** Messages brought in by `in` rules. */
  received: number;
  /** `in` messages the local ACL refused. */
  rejected: number;
  dropped: number;
  droppedBy: Record<BridgeDropReason, number>;
  /** Messages sent upstream per second, measured over the last second. */
  drainRatePerSec: number;
}

export function emptyDrops(): Record<BridgeDropReason, number> {
  return {
    'max-messages': 0,
    'max-bytes': 0,
    'max-age': 0,
    'write-failed': 0,
    'disk-reserve': 0,
    offline: 0,
    expired: 0,
    'rejected-upstream': 0,
  };
}

/** The status as retained $SYS messages under `$SYS/broker/bridges/<name>/`. */
export function sysMessages(status: BridgeStatus): BrokerMessage[] {
  const base = `$SYS/broker/bridges/${status.name}/`;
  const values: [string, string][] = [
    ['state', status.state],
    ['connected', status.connected ? '1' : '0'],
    ['address', status.address?.url ?? ''],
    ['address/index', status.address ? String(status.address.index) : ''],
    ['address/since', status.address ? new Date(status.address.since).toISOString() : ''],
    ['last_error', status.lastError ? `${status.lastError.kind}: ${status.lastError.message}` : ''],
    ['outbox/messages', String(status.outbox.messages)],
    ['outbox/bytes', String(status.outbox.bytes)],
    [
      'outbox/oldest_age_seconds',
      status.outbox.oldestAgeSec === null ? '' : String(status.outbox.oldestAgeSec),
    ],
    ['messages/inflight', String(status.inflight)],
    ['messages/sent', String(status.sent)],
    ['messages/received', String(status.received)],
    ['messages/rejected', String(status.rejected)],
    ['messages/dropped', String(status.dropped)],
    ['drain_rate', String(status.drainRatePerSec)],
  ];
  return values.map(([suffix, value]) => ({
    topic: base + suffix,
    payload: Buffer.from(value),
    qos: 0,
    retain: true,
  }));
}
