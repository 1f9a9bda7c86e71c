// The planner's plans are minimal: for random layouts, no partition of the tags into requests
// (within the size limit and the gap limit) uses fewer requests than the planner's.
import { describe, expect, it } from 'vitest';
import type { RequestLimits } from '../../../drivers/modbus/config.js';
import { planPollGroups, planReads } from '../../../drivers/modbus/planner.js';
import type { ResolvedTag } from '../../../drivers/modbus/tag.js';

function regTag(name: string, address: number, span: number, pollMs = 1000): ResolvedTag {
  return {
    name,
    table: 'hr',
    address,
    type: 'uint16',
    width: span,
    span,
    byteOrder: 'ABCD',
    encoding: 'ascii',
    swapBytes: false,
    pollMs,
    writable: false,
  };
}

const limits = (maxRegisters: number, maxGapRegisters: number): RequestLimits => ({
  maxRegisters,
  maxGapRegisters,
  maxBits: 2000,
  maxGapBits: 0,
});

/** Whether one request can cover these tags: span within the limit, no gap above the limit. */
function feasible(tags: ResolvedTag[], l: RequestLimits): boolean {
  const sorted = [...tags].sort((a, b) => a.address - b.address);
  const start = sorted[0]!.address;
  let end = start;
  for (const t of sorted) {
    if (t.address - end > l.maxGapRegisters) return false;
    end = Math.max(end, t.address + t.span);
  }
  return end - start <= l.maxRegisters;
}

/**
 * The fewest requests over every set partition of the tags (exhaustive; small n only). Groups are
 * checked only once complete: a later tag may fill the gap that made a partial group infeasible.
 */
function optimum(tags: ResolvedTag[], l: RequestLimits): number {
  let best = Infinity;
  const groups: ResolvedTag[][] = [];
  const place = (i: number) => {
    if (groups.length >= best) return;
    if (i === tags.length) {
      if (groups.every((g) => feasible(g, l))) best = groups.length;
      return;
    }
    const t = tags[i]!;
    for (const g of groups) {
      g.push(t);
      place(i + 1);
      g.pop();
    }
    groups.push([t]);
    place(i + 1);
    groups.pop();
  };
  place(0);
  return best;
}

/** A small deterministic PRNG so a failing layout can be reproduced. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('modbus request planner', () => {
  it('merges neighbours, respects the gap and size limits', () => {
    const tags = [regTag('a', 0, 2), regTag('b', 2, 1), regTag('c', 10, 4), regTag('d', 40, 1)];
    expect(planReads(tags, limits(125, 7)).map((r) => [r.address, r.quantity])).toEqual([
      [0, 14],
      [40, 1],
    ]);
    expect(planReads(tags, limits(125, 6)).map((r) => [r.address, r.quantity])).toEqual([
      [0, 3],
      [10, 4],
      [40, 1],
    ]);
    expect(planReads(tags, limits(12, 100)).map((r) => [r.address, r.quantity])).toEqual([
      [0, 3],
      [10, 4],
      [40, 1],
    ]);
    expect(planReads(tags, limits(125, 100)).map((r) => [r.address, r.quantity])).toEqual([[0, 41]]);
  });

  it('keeps tables and poll periods apart, and bits within 2000 per request', () => {
    const coils: ResolvedTag[] = Array.from({ length: 3000 }, (_, i) => ({
      ...regTag(`c${i}`, i, 1),
      table: 'coil',
      type: 'bool',
    }));
    const plan = planReads(coils, { maxRegisters: 125, maxBits: 2000, maxGapRegisters: 0, maxGapBits: 0 });
    expect(plan.map((r) => [r.fc, r.address, r.quantity])).toEqual([
      [1, 0, 2000],
      [1, 2000, 1000],
    ]);
    const groups = planPollGroups(
      [regTag('fast', 0, 1, 100), regTag('slow', 1, 1, 1000), regTag('fast2', 1, 1, 100)],
      limits(125, 16),
    );
    expect(groups.map((g) => [g.periodMs, g.reads.length, g.tagCount])).toEqual([
      [100, 1, 2],
      [1000, 1, 1],
    ]);
  });

  it('finds the minimum number of requests for random layouts (exhaustive check)', () => {
    const random = rng(42);
    let layouts = 0;
    for (let round = 0; round < 400; round++) {
      const n = 2 + Math.floor(random() * 6);
      const tags = Array.from({ length: n }, (_, i) =>
        regTag(`t${i}`, Math.floor(random() * 40), 1 + Math.floor(random() * 5)),
      );
      const l = limits(3 + Math.floor(random() * 12), Math.floor(random() * 6));
      if (tags.some((t) => t.span > l.maxRegisters)) continue;
      const plan = planReads(tags, l);
      // Every tag is read, inside its request, and no request breaks a limit.
      expect(plan.flatMap((r) => r.tags).length).toBe(n);
      for (const r of plan) {
        expect(r.quantity).toBeLessThanOrEqual(l.maxRegisters);
        for (const t of r.tags) {
          expect(t.address).toBeGreaterThanOrEqual(r.address);
          expect(t.address + t.span).toBeLessThanOrEqual(r.address + r.quantity);
        }
        expect(feasible(r.tags, l)).toBe(true);
      }
      expect(plan.length, JSON.stringify({ tags: tags.map((t) => [t.address, t.span]), l })).toBe(
        optimum(tags, l),
      );
      layouts++;
    }
    expect(layouts).toBeGreaterThan(300);
  });
});
