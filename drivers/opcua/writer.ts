// Writes through the Write service: the JSON value coerced to the node's DataType (read once per
// session), the server's status code on refusal, then a read-back. Engineering limits (min/max)
// are the command router's: they change without a driver restart.
import type { ClientSession } from 'node-opcua';
import { OUTCOME_UNKNOWN, type TagValue, type WriteResult } from '../types.js';
import { coerceToVariant } from './coerce.js';
import type { TagPlan } from './plan.js';
import { readSamples, type RequestStats } from './reader.js';

type Opcua = import('./load.js').OpcuaClientApi;

export interface NodeType {
  dataType: number;
  valueRank: number;
}
export type NodeTypeCache = Map<string, NodeType>;

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
  let type: NodeType;
  try {
    type = await nodeType(opcua, session, plan, cache);
  } catch (err) {
    return {
      ok: false,
      error: `cannot read the DataType of ${plan.address}: ${(err as Error).message}`,
      outcome: 'refused',
    };
  }
  const coerced = coerceToVariant(type.dataType, type.valueRank, value);
  if (!coerced.ok) return { ok: false, error: coerced.error, outcome: 'refused' };

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
    return timedOut
      ? { ok: false, error: `write to ${plan.name}: timeout: ${OUTCOME_UNKNOWN}`, outcome: 'unknown' }
      : { ok: false, error: `write failed: ${(err as Error).message}` };
  }
  if (!status.isGood()) return { ok: false, error: status.name };

  const [sample] = await readSamples(session, [plan], maxPerCall, stats);
  if (!sample) return { ok: false, error: 'read-back returned nothing' };
  if (sample.quality === 'bad') return { ok: false, error: `read-back failed: ${sample.reason}` };
  return { ok: true, sample };
}
