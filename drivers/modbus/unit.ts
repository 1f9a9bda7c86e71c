// One unit id on a shared link: sends its requests with timeout and retries, keeps its counters,
// and moves to a slow retry schedule when it stops answering so it never hogs the bus.
import type { ModbusDeviceConfig } from './config.js';
import { exceptionReason, type ModbusRequest } from './pdu.js';
import { LinkError, type ModbusLink, type Priority } from './transport/link.js';

export type Outcome =
  | { kind: 'data'; data: Uint8Array }
  | { kind: 'ack' }
  /** No usable answer; `reason` is what bad samples carry. */
  | {
      kind: 'failed';
      reason: string;
      cause: 'exception' | 'timeout' | 'invalid' | 'disconnected' | 'cancelled';
    };

export interface UnitCounters {
  requests: number;
  errors: number;
  timeouts: number;
  exceptions: number;
  retries: number;
  rttMsTotal: number;
  rttMsMax: number;
  answered: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Unit {
  readonly counters: UnitCounters = {
    requests: 0,
    errors: 0,
    timeouts: 0,
    exceptions: 0,
    retries: 0,
    rttMsTotal: 0,
    rttMsMax: 0,
    answered: 0,
  };
  /** True while the unit is on the slow retry schedule. */
  slow = false;
  lastError?: string;
  private failuresInRow = 0;
  private nextProbeAt = 0;
  stopped = false;
  /** Told each answered request's round trip (DriverContext.onRoundTrip). */
  onRoundTrip?: (rttMs: number) => void;

  constructor(
    private readonly link: ModbusLink,
    private readonly device: ModbusDeviceConfig,
    private readonly onSlowChange: (slow: boolean) => void,
  ) {}

  /** While slow, only one probe per `slowRetryMs` may go out; this says whether one is due now. */
  mayPoll(now: number): boolean {
    return !this.slow || now >= this.nextProbeAt;
  }

  async execute(request: ModbusRequest, priority: Priority, cancelled?: () => boolean): Promise<Outcome> {
    // A slow unit gets a single try: retries would hold up the other units on the bus.
    const attempts = this.slow && priority === 'normal' ? 1 : 1 + this.device.retries;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        this.counters.retries++;
        await sleep(this.device.retryDelayMs * 2 ** (attempt - 1));
        if (this.stopped || cancelled?.()) return { kind: 'failed', reason: 'timeout', cause: 'cancelled' };
      }
      try {
        this.counters.requests++;
        const { response, rttMs } = await this.link.request(
          this.device.unitId,
          request,
          this.device.timeoutMs,
          priority,
          cancelled,
        );
        this.answered(rttMs);
        switch (response.kind) {
          case 'data':
            return { kind: 'data', data: response.data };
          case 'ack':
            return { kind: 'ack' };
          case 'exception':
            this.counters.exceptions++;
            return this.fail(exceptionReason(response.code), 'exception');
          case 'invalid':
            return this.fail(`invalid reply: ${response.reason}`, 'invalid');
        }
      } catch (err) {
        if (!(err instanceof LinkError)) throw err;
        if (err.kind === 'cancelled') {
          this.counters.requests--;
          return { kind: 'failed', reason: 'timeout', cause: 'cancelled' };
        }
        if (err.kind === 'disconnected') return this.fail('disconnected', 'disconnected');
        this.counters.timeouts++;
        this.lastError = err.message;
      }
    }
    this.counters.errors++;
    this.failuresInRow++;
    if (this.slow) this.nextProbeAt = performance.now() + this.device.slowRetryMs;
    else if (this.failuresInRow >= this.device.deadAfterTimeouts) {
      this.slow = true;
      this.nextProbeAt = performance.now() + this.device.slowRetryMs;
      this.onSlowChange(true);
    }
    return { kind: 'failed', reason: 'timeout', cause: 'timeout' };
  }

  private answered(rttMs: number): void {
    this.counters.answered++;
    this.counters.rttMsTotal += rttMs;
    if (rttMs > this.counters.rttMsMax) this.counters.rttMsMax = rttMs;
    this.onRoundTrip?.(rttMs);
    this.failuresInRow = 0;
    if (this.slow) {
      this.slow = false;
      this.onSlowChange(false);
    }
  }

  private fail(reason: string, cause: 'exception' | 'invalid' | 'disconnected'): Outcome {
    this.counters.errors++;
    this.lastError = reason;
    return { kind: 'failed', reason, cause };
  }
}
