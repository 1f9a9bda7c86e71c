// No part imports a part that imports it back, so each part can be read, tested and replaced
// from its own folder. Parts are src/<part> and drivers/<protocol>; see partOf for root files.
import { describe, expect, it } from 'vitest';
import { fileCycles, fileGraph, partCycles, partOf, type Graph } from './import-graph.js';

const describeCycle = (c: ReturnType<typeof partCycles>[number]): string =>
  `${c.parts[0]} <-> ${c.parts[1]}\n  ${c.forward.join('\n  ')}\n  and back:\n  ${c.backward.join('\n  ')}`;

describe('import graph of src/ and drivers/', () => {
  const graph = fileGraph();

  it('reads the imports (static, type-only, re-exports, dynamic)', () => {
    // A check that found no imports would pass on anything: make sure it sees each kind.
    expect(graph.get('src/gateway.ts')).toContain('src/broker/broker.ts');
    expect(graph.get('src/cli/start.ts')).toContain('src/gateway.ts'); // import('../gateway.js')
    expect(graph.get('src/broker/persistence/retained.ts')).toContain('src/store/db.ts'); // import type
    expect(graph.size).toBeGreaterThan(100);
  });

  it('has no two parts that import each other', () => {
    expect(partCycles(graph).map(describeCycle)).toEqual([]);
  });

  it('finds a two-way import when there is one', () => {
    const planted: Graph = new Map(graph);
    planted.set('src/store/db.ts', [...(graph.get('src/store/db.ts') ?? []), 'src/broker/broker.ts']);
    const cycles = partCycles(planted);
    expect(cycles.map((c) => c.parts)).toContainEqual(['src/broker', 'src/store']);
    expect(cycles.find((c) => c.parts[1] === 'src/store')?.backward).toEqual([
      'src/store/db.ts -> src/broker/broker.ts',
    ]);
  });

  it('has no cycle of parts through more than two either', () => {
    const parts: Graph = new Map();
    for (const [from, targets] of graph) {
      const list = parts.get(partOf(from)) ?? [];
      for (const to of targets) if (partOf(to) !== partOf(from)) list.push(partOf(to));
      parts.set(partOf(from), list);
    }
    expect(fileCycles(parts)).toEqual([]);
  });
});
