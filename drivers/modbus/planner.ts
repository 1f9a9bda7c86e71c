// The request planner: merges the tags of one device, table and poll period into the fewest read
// requests within the size limit and the largest allowed gap of unused registers (or bits).
import { isBitTable, type Table } from './address.js';
import type { RequestLimits } from './config.js';
import type { ReadFunction } from './pdu.js';
import type { ResolvedTag } from './tag.js';

export interface PlannedRead {
  table: Table;
  fc: ReadFunction;
  address: number;
  quantity: number;
  /** Tags decoded from this read's reply. */
  tags: ResolvedTag[];
}

const READ_FC: Record<Table, ReadFunction> = { coil: 1, di: 2, hr: 3, ir: 4 };

/** The tags by a key, each group in the given order (Map.groupBy arrives with Node 21). */
function groupBy<K>(tags: readonly ResolvedTag[], key: (tag: ResolvedTag) => K): Map<K, ResolvedTag[]> {
  const groups = new Map<K, ResolvedTag[]>();
  for (const tag of tags) {
    const group = groups.get(key(tag));
    if (group) group.push(tag);
    else groups.set(key(tag), [tag]);
  }
  return groups;
}

/**
 * Sorted by start address, a greedy sweep is optimal: a request can only be extended by the next
 * tag, and closing a request earlier than needed never lets a later one cover more (the planner
 * test checks this against an exhaustive search of every partition).
 */
export function planReads(tags: readonly ResolvedTag[], limits: RequestLimits): PlannedRead[] {
  const byTable = groupBy(tags, (tag) => tag.table);
  const plan: PlannedRead[] = [];
  for (const [table, list] of byTable) {
    const bits = isBitTable(table);
    const maxLength = bits ? limits.maxBits : limits.maxRegisters;
    const maxGap = bits ? limits.maxGapBits : limits.maxGapRegisters;
    const sorted = [...list].sort((a, b) => a.address - b.address || b.span - a.span);
    let current: PlannedRead | undefined;
    let end = 0;
    for (const tag of sorted) {
      const tagEnd = tag.address + tag.span;
      if (
        current !== undefined &&
        tag.address - end <= maxGap &&
        Math.max(end, tagEnd) - current.address <= maxLength
      ) {
        current.tags.push(tag);
        end = Math.max(end, tagEnd);
        current.quantity = end - current.address;
        continue;
      }
      current = { table, fc: READ_FC[table], address: tag.address, quantity: tag.span, tags: [tag] };
      end = tagEnd;
      plan.push(current);
    }
  }
  return plan;
}

/** Tags grouped by poll period, each group with its plan. */
export interface PollGroup {
  periodMs: number;
  reads: PlannedRead[];
  tagCount: number;
}

export function planPollGroups(tags: readonly ResolvedTag[], limits: RequestLimits): PollGroup[] {
  const byPeriod = groupBy(tags, (tag) => tag.pollMs);
  return [...byPeriod]
    .sort(([a], [b]) => a - b)
    .map(([periodMs, list]) => ({ periodMs, reads: planReads(list, limits), tagCount: list.length }));
}
