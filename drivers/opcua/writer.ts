// Writes through the Write service: range and writable checks first, the JSON value coerced to the
// node's DataType (read once per session), the server's status code on refusal, then a read-back.
import type { ClientSession } from 'node-opcua';
import type { TagValue, WriteResult } from '../types.js';
import { coerceToVariant } from './coerce.js';
import type { TagPlan } from './plan.js';
import { readSamples, type RequestStats } from './reader.js';

type Opcua = typeof import('node-opcua');

export interface NodeType {
  dataType: number;
  valueRank: number;
}
export type NodeTypeCache = Map<string, NodeType>;

/** The tag's min/max as for Modbus: every number (array elements too) within the bounds. */
export function rangeProblem(plan: TagPlan, value: TagValue): string | undefined {
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
    if (n === undefined) continue;
    if (plan.min !== undefined && n < plan.min) return `value ${String(v)} below min ${plan.min}`;
    if (plan.max !== undefined && n > plan.max) return `value ${String(v)} above max ${plan.max}`;
  }
  return undefined;
}

async function nodeType(
  opcua: Opcua,
  session: ClientSession,
  plan: TagPlan,
  cache: NodeTypeCache,
): Promise<NodeType> {
  const cached = cache.get(plan.address);
  if (cached) return cached;
  const nodeId = opcua.resolveNodeId(plan.address);
  const [dataType, rank] = await Promise.all([
    session.getBuiltInDataType(nodeId),
    session.read({ nodeId, attributeId: opcua.AttributeIds.ValueRank }),
  ]);
  const type = {
    dataType: Number(dataType),
    valueRank: rank.statusCode.isGood() ? Number(rank.value.value) : -1,
  };
  cache.set(plan.address, type);
  return type;
}

export async function writeTag(
  opcua: Opcua,
  session: ClientSession,
  plan: TagPlan,
  value: TagValue,
  cache: NodeTypeCache,
  stats: RequestStats,
  maxPerCall: number,
): Promise<WriteResult> {
  const outOfRange = rangeProblem(plan, value);
  if (outOfRange) return { ok: false, error: outOfRange };
  let type: NodeType;
  try {
    type = await nodeType(opcua, session, plan, cache);
  } catch (err) {
    return { ok: false, error: `cannot read the DataType of ${plan.address}: ${(err as Error).message}` };
  }
  const coerced = coerceToVariant(type.dataType, type.valueRank, value);
  if (!coerced.ok) return { ok: false, error: coerced.error };

  const t0 = performance.now();
  let status;
  try {
    status = await session.write({
      nodeId: plan.address,
      attributeId: opcua.AttributeIds.Value,
      value: { value: new opcua.Variant(coerced.variant) },
    });
    stats.record(performance.now() - t0, 'ok');
  } catch (err) {
    const timedOut = /timeout|timed out/i.test(String(err));
    stats.record(performance.now() - t0, timedOut ? 'timeout' : 'error');
    return { ok: false, error: timedOut ? 'timeout' : `write failed: ${(err as Error).message}` };
  }
  if (!status.isGood()) return { ok: false, error: status.name };

  const [sample] = await readSamples(session, [plan], maxPerCall, stats);
  if (!sample) return { ok: false, error: 'read-back returned nothing' };
  if (sample.quality === 'bad') return { ok: false, error: `read-back failed: ${sample.reason}` };
  return { ok: true, sample };
}
