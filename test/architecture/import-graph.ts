// The import graph of the product's source (src/ and drivers/), read with TypeScript's own
// pre-processor: every static import, `export ... from`, `import type` and dynamic `import()`
// counts, since a type-only import still ties one part's code to another's.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The repository root, where src/ and drivers/ live. */
export const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every source file, as a path relative to ROOT with forward slashes. */
export function sourceFiles(dirs: readonly string[] = ['src', 'drivers']): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(rel);
    }
  };
  for (const dir of dirs) walk(dir);
  return files.sort();
}

/** The project files `file` imports (relative specifiers only; packages are not parts). */
export function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return importedFiles
    .map((ref) => ref.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)))
    .map((target) => target.replace(/\.js$/, '.ts'));
}

/**
 * The part a file belongs to: src/<part> with its subfolders, drivers/<protocol>. A file directly
 * in src/ or drivers/ is a unit of its own: those are either composition roots that import every
 * part (gateway.ts, cli.ts, drivers/index.ts) or leaves every part may use (log.ts, version.ts,
 * drivers/types.ts), and lumping the two kinds together would report each leaf as a cycle.
 */
export function partOf(file: string): string {
  const segments = file.split('/');
  if (segments.length <= 2) return file;
  return `${segments[0]}/${segments[1]}`;
}

export type Graph = Map<string, string[]>;

export function fileGraph(files: readonly string[] = sourceFiles()): Graph {
  const known = new Set(files);
  return new Map(files.map((file) => [file, importsOf(file).filter((target) => known.has(target))]));
}

/** A pair of parts that import each other, with the imports that make each direction. */
export interface PartCycle {
  parts: [string, string];
  forward: string[];
  backward: string[];
}

/** Every pair of parts where each imports the other, with the file-to-file imports that do it. */
export function partCycles(graph: Graph): PartCycle[] {
  const edges = new Map<string, string[]>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const key = `${partOf(from)} -> ${partOf(to)}`;
      if (partOf(from) === partOf(to)) continue;
      edges.set(key, [...(edges.get(key) ?? []), `${from} -> ${to}`]);
    }
  }
  const cycles: PartCycle[] = [];
  for (const [key, forward] of edges) {
    const [a, b] = key.split(' -> ') as [string, string];
    if (a >= b) continue;
    const backward = edges.get(`${b} -> ${a}`);
    if (backward) cycles.push({ parts: [a, b], forward, backward });
  }
  return cycles;
}

/**
 * The file-level import cycles: strongly connected components of more than one file (Tarjan),
 * each listed as its sorted files.
 */
export function fileCycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const to of graph.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(file, Math.min(low.get(file)!, index.get(to)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return components;
}
