// The Read service in batches within the server's limits, timing each request for the status.
import type { ClientSession, DataValue } from 'node-opcua';
import type { TagSample } from '../types.js';
import type { TagPlan } from './plan.js';
import { toSample, type DataValueLike } from './values.js';

export interface RequestStats {
  /** Records one request: its round trip, and whether it failed or timed out. */
  record(rttMs: number, outcome: 'ok' | 'error' | 'timeout'): void;
}

export async function readBatched(
  session: ClientSession,
  nodeIds: readonly string[],
  maxPerCall: number,
  stats: RequestStats,
): Promise<DataValue[]> {
  const out: DataValue[] = [];
  for (let start = 0; start < nodeIds.length; start += maxPerCall) {
    const slice = nodeIds.slice(start, start + maxPerCall).map((nodeId) => ({ nodeId, attributeId: 13 }));
    const t0 = performance.now();
    try {
      const values = await session.read(slice);
      stats.record(performance.now() - t0, 'ok');
      out.push(...values);
    } catch (err) {
      stats.record(performance.now() - t0, /timeout|timed out/i.test(String(err)) ? 'timeout' : 'error');
      throw err;
    }
  }
  return out;
}

/** Fresh samples of these tags; a failed read makes them bad with the reason. */
export async function readSamples(
  session: ClientSession,
  plans: readonly TagPlan[],
  maxPerCall: number,
  stats: RequestStats,
): Promise<TagSample[]> {
  try {
    const values = await readBatched(
      session,
      plans.map((p) => p.address),
      maxPerCall,
      stats,
    );
    const now = Date.now();
    return plans.map((p, i) => toSample(p.name, values[i] as unknown as DataValueLike, now));
  } catch (err) {
    const reason = /timeout|timed out/i.test(String(err))
      ? 'timeout'
      : `read failed: ${(err as Error).message}`;
    const ts = Date.now();
    return plans.map((p) => ({ tag: p.name, ts, quality: 'bad', value: null, reason }));
  }
}
