// One connection (TCP socket or serial bus) shared by every device (unit id) behind it, through
// one queue: writes ahead of polls, a bounded number of requests in flight (strictly one on RTU),
// per-request timeouts, and reconnection with exponential backoff and jitter.
import type { Duplex } from 'node:stream';
import type { DriverLogger } from '../../types.js';
import type { TransportConfig } from '../config.js';
import { decodeResponse, encodeRequest, type ModbusRequest, type ModbusResponse } from '../pdu.js';
import { RtuFramer, TcpFramer, type Framer, type GarbageKind, type ReplyFrame } from './framing.js';
import { describeTransport, interFrameDelayMs, openStream } from './open.js';

export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** Why a request got no answer. Exceptions and malformed replies are answers (ModbusResponse). */
export class LinkError extends Error {
  constructor(
    readonly kind: 'timeout' | 'disconnected' | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

export interface LinkListener {
  onState(state: LinkState, error?: string): void;
}

export interface LinkOptions {
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export type Priority = 'high' | 'normal';

export interface LinkCounters {
  garbage: number;
  crcErrors: number;
  lateReplies: number;
  reconnects: number;
  /** Most requests ever in flight at once (bounded by maxInFlight). */
  peakInFlight: number;
}

interface Pending {
  unitId: number;
  request: ModbusRequest;
  timeoutMs: number;
  resolve(response: { response: ModbusResponse; rttMs: number }): void;
  reject(error: LinkError): void;
  /** Checked when the request's turn comes: a scan that already failed withdraws its other reads. */
  cancelled?: () => boolean;
  txId: number;
  sentAt: number;
  timer?: NodeJS.Timeout;
}

export class ModbusLink {
  readonly name: string;
  state: LinkState = 'disconnected';
  readonly counters: LinkCounters = {
    garbage: 0,
    crcErrors: 0,
    lateReplies: 0,
    reconnects: 0,
    peakInFlight: 0,
  };
  private stream?: Duplex;
  private readonly framer: Framer;
  private readonly maxInFlight: number;
  private readonly frameGapMs: number;
  private readonly high: Pending[] = [];
  private readonly normal: Pending[] = [];
  private readonly inFlight = new Map<number, Pending>();
  private readonly listeners = new Set<LinkListener>();
  private nextTxId = 1;
  private lastActivity = 0;
  private gapTimer?: NodeJS.Timeout;
  private reconnectTimer?: NodeJS.Timeout;
  private backoffMs: number;
  private lastError?: string;

  constructor(
    readonly transport: TransportConfig,
    private readonly options: LinkOptions,
    private readonly log: DriverLogger,
  ) {
    this.name = describeTransport(transport);
    this.framer = transport.type === 'tcp' ? new TcpFramer() : new RtuFramer();
    this.maxInFlight = transport.type === 'tcp' ? transport.maxInFlight : 1;
    this.frameGapMs = interFrameDelayMs(transport);
    this.backoffMs = options.reconnectMinMs;
    this.framer.onFrame = (frame) => this.onFrame(frame);
    this.framer.onGarbage = (kind, detail) => this.onGarbage(kind, detail);
  }

  attach(listener: LinkListener): void {
    this.listeners.add(listener);
    if (this.state === 'disconnected' && this.reconnectTimer === undefined) void this.connect();
    else listener.onState(this.state, this.lastError);
  }

  /** Removes a listener; the last one closes the connection. */
  async detach(listener: LinkListener): Promise<void> {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) await this.close();
  }

  get queued(): number {
    return this.high.length + this.normal.length + this.inFlight.size;
  }

  /** Sends one request when its turn comes; resolves with the reply (exceptions included). */
  request(
    unitId: number,
    request: ModbusRequest,
    timeoutMs: number,
    priority: Priority,
    cancelled?: () => boolean,
  ): Promise<{ response: ModbusResponse; rttMs: number }> {
    if (this.state !== 'connected') {
      return Promise.reject(new LinkError('disconnected', this.lastError ?? `${this.name} not connected`));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { unitId, request, timeoutMs, resolve, reject, cancelled, txId: 0, sentAt: 0 };
      (priority === 'high' ? this.high : this.normal).push(pending);
      this.pump();
    });
  }

  private pump(): void {
    while (this.state === 'connected' && this.inFlight.size < this.maxInFlight) {
      if (this.high.length === 0 && this.normal.length === 0) return;
      if (this.frameGapMs > 0) {
        const wait = this.lastActivity + this.frameGapMs - performance.now();
        if (wait > 0) {
          this.gapTimer ??= setTimeout(() => {
            this.gapTimer = undefined;
            this.pump();
          }, Math.ceil(wait));
          return;
        }
      }
      const pending = (this.high.shift() ?? this.normal.shift()) as Pending;
      if (pending.cancelled?.()) pending.reject(new LinkError('cancelled', 'withdrawn'));
      else this.send(pending);
    }
  }

  private send(pending: Pending): void {
    // Transaction ids run 1..65535: a reply that comes after its timeout finds no match instead of
    // landing on a newer request (with at most 16 in flight, an id is reused only after 65535 more).
    pending.txId = this.nextTxId;
    this.nextTxId = this.nextTxId === 0xffff ? 1 : this.nextTxId + 1;
    pending.sentAt = performance.now();
    this.lastActivity = pending.sentAt;
    this.inFlight.set(pending.txId, pending);
    if (this.inFlight.size > this.counters.peakInFlight) this.counters.peakInFlight = this.inFlight.size;
    pending.timer = setTimeout(() => this.onTimeout(pending), pending.timeoutMs);
    const frame = this.framer.encode(pending.txId, pending.unitId, encodeRequest(pending.request));
    (this.stream as Duplex).write(frame);
  }

  private onTimeout(pending: Pending): void {
    if (this.inFlight.get(pending.txId) !== pending) return;
    this.inFlight.delete(pending.txId);
    // On RTU a reply may still be on its way: give it the line's silence before the next frame.
    if (this.transport.type !== 'tcp') {
      this.framer.reset();
      this.lastActivity = performance.now() + Math.max(this.frameGapMs * 4, 20);
    }
    pending.reject(
      new LinkError('timeout', `no reply from unit ${pending.unitId} within ${pending.timeoutMs} ms`),
    );
    this.pump();
  }

  private onData(chunk: Buffer): void {
    this.lastActivity = performance.now();
    const current = this.transport.type === 'tcp' ? undefined : this.inFlight.values().next().value;
    this.framer.push(chunk, current ? { unitId: current.unitId, fc: current.request.fc } : undefined);
  }

  private onFrame(frame: ReplyFrame): void {
    const pending =
      frame.txId === undefined ? this.inFlight.values().next().value : this.inFlight.get(frame.txId);
    if (pending === undefined) {
      this.counters.lateReplies++;
      return;
    }
    if (frame.unitId !== pending.unitId) {
      this.onGarbage('garbage', `reply from unit ${frame.unitId} to a request for unit ${pending.unitId}`);
      return;
    }
    const response = decodeResponse(pending.request, frame.pdu);
    if (response.kind === 'invalid') this.onGarbage('garbage', response.reason);
    this.inFlight.delete(pending.txId);
    clearTimeout(pending.timer);
    pending.resolve({ response, rttMs: performance.now() - pending.sentAt });
    this.pump();
  }

  private onGarbage(kind: GarbageKind, detail: string): void {
    this.counters[kind]++;
    this.log.debug({ detail }, `modbus ${kind === 'crcErrors' ? 'CRC error' : 'garbage'} on the wire`);
  }

  private async connect(): Promise<void> {
    this.setState('connecting');
    try {
      const stream = await openStream(this.transport);
      if (this.listeners.size === 0 || this.state === 'stopped') {
        stream.destroy();
        return;
      }
      this.stream = stream;
      this.framer.reset();
      stream.on('data', (chunk: Buffer) => this.onData(chunk));
      stream.on('error', (err: Error) => this.lost(stream, err.message));
      stream.on('close', () => this.lost(stream, 'connection closed'));
      this.backoffMs = this.options.reconnectMinMs;
      this.lastError = undefined;
      this.setState('connected');
      this.pump();
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.setState('disconnected');
      this.scheduleReconnect();
    }
  }

  private lost(stream: Duplex, reason: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    stream.destroy();
    this.lastError = reason;
    this.failAll(reason);
    this.setState('disconnected');
    this.scheduleReconnect();
  }

  private failAll(reason: string): void {
    const error = new LinkError('disconnected', reason);
    for (const pending of this.inFlight.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.inFlight.clear();
    for (const pending of this.high.splice(0)) pending.reject(error);
    for (const pending of this.normal.splice(0)) pending.reject(error);
  }

  private scheduleReconnect(): void {
    if (this.listeners.size === 0 || this.state === 'stopped') return;
    // Full jitter between half and all of the current backoff, so units do not reconnect in step.
    const delay = this.backoffMs / 2 + Math.random() * (this.backoffMs / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.counters.reconnects++;
      void this.connect();
    }, delay);
  }

  private setState(state: LinkState): void {
    if (this.state === state) return;
    this.state = state;
    if (state === 'disconnected' && this.lastError)
      this.log.warn({ error: this.lastError }, 'modbus link down');
    else if (state === 'connected') this.log.info('modbus link up');
    for (const listener of this.listeners) listener.onState(state, this.lastError);
  }

  private async close(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.gapTimer);
    this.reconnectTimer = undefined;
    this.failAll('stopped');
    const stream = this.stream;
    this.stream = undefined;
    if (stream && !stream.destroyed) {
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.destroy();
      });
    }
  }
}
