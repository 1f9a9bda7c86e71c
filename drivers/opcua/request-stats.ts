// What a device's status tells about its requests: counts, and round trips over a recent window.
import type { DeviceStatus } from '../types.js';
import type { RequestStats } from './reader.js';

const RTT_WINDOW = 100;

type RequestFigures = Pick<DeviceStatus, 'requests' | 'errors' | 'timeouts' | 'rttMsAvg' | 'rttMsMax'>;

export class RequestCounters implements RequestStats {
  private requests = 0;
  private errors = 0;
  private timeouts = 0;
  private readonly rtts: number[] = [];

  /** @param onRoundTrip the gateway's own latency figures, fed with every request. */
  constructor(private readonly onRoundTrip?: (rttMs: number) => void) {}

  record(rttMs: number, outcome: 'ok' | 'error' | 'timeout'): void {
    this.requests++;
    if (outcome === 'error') this.errors++;
    if (outcome === 'timeout') this.timeouts++;
    this.rtts.push(rttMs);
    if (this.rtts.length > RTT_WINDOW) this.rtts.shift();
    this.onRoundTrip?.(rttMs);
  }

  figures(): RequestFigures {
    const out: RequestFigures = { requests: this.requests, errors: this.errors, timeouts: this.timeouts };
    const rtts = this.rtts;
    if (rtts.length > 0) {
      out.rttMsAvg = Math.round((rtts.reduce((a, b) => a + b, 0) / rtts.length) * 100) / 100;
      out.rttMsMax = Math.round(Math.max(...rtts) * 100) / 100;
    }
    return out;
  }
}
