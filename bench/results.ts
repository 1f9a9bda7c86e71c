// Benchmark figures as JSON, so two runs can be compared by a script (bench/compare.ts). Each bench
// calls `record(name, figures)` once at its end; its entry in bench/results/latest.json (or the file
// BENCH_RESULTS names) is replaced, the other benches' entries are kept.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Key figures of one bench: numbers, grouped by case as the bench likes. */
export interface Figures {
  [key: string]: number | Figures;
}

export interface BenchEntry {
  /** When the bench finished, ISO 8601. */
  at: string;
  node: string;
  cores: number;
  /** 1-minute load average at the end: CPU figures from a loaded machine are not comparable. */
  load: number;
  figures: Figures;
}

export interface ResultsFile {
  version: 1;
  benches: Record<string, BenchEntry>;
}

export const DEFAULT_RESULTS = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'results',
  'latest.json',
);

export function resultsPath(): string {
  return process.env.BENCH_RESULTS || DEFAULT_RESULTS;
}

function isFigures(v: unknown): v is Figures {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  return Object.values(v).every((x) => (typeof x === 'number' ? true : isFigures(x)));
}

/** Parses a results file, or says what is wrong with it and where. */
export function parseResults(text: string, where: string): ResultsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${where}: not JSON (${(err as Error).message})`);
  }
  const file = json as Partial<ResultsFile>;
  if (
    !file ||
    typeof file !== 'object' ||
    file.version !== 1 ||
    !file.benches ||
    typeof file.benches !== 'object'
  )
    throw new Error(`${where}: not a bench results file (expected {"version": 1, "benches": {...}})`);
  for (const [name, entry] of Object.entries(file.benches)) {
    if (!entry || typeof entry !== 'object' || !isFigures((entry as BenchEntry).figures))
      throw new Error(`${where}: bench "${name}" has no figures object of numbers`);
  }
  return file as ResultsFile;
}

export function readResults(file: string): ResultsFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseResults(text, file);
}

/**
 * Merges one bench's figures into the results file. A file that cannot be read as results is kept
 * aside as `<file>.bad` (nothing lost) and a new one started.
 */
export function record(bench: string, figures: Figures, file = resultsPath()): void {
  if (!isFigures(figures)) throw new Error(`bench ${bench}: figures must be numbers, grouped in objects`);
  let results: ResultsFile = { version: 1, benches: {} };
  if (fs.existsSync(file)) {
    try {
      results = readResults(file);
    } catch (err) {
      fs.renameSync(file, `${file}.bad`);
      console.warn(`${(err as Error).message}; kept as ${file}.bad, starting a new results file`);
    }
  }
  results.benches[bench] = {
    at: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    load: Math.round(os.loadavg()[0]! * 100) / 100,
    figures,
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename: an interrupted write never leaves half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(results, null, 2) + '\n');
  fs.renameSync(tmp, file);
  const shown = path.relative(process.cwd(), file);
  console.log(`figures recorded in ${shown.startsWith('..') ? file : shown} as "${bench}"`);
}

/** Every figure as "bench.group.key" -> number. */
export function flatten(results: ResultsFile): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (prefix: string, figures: Figures) => {
    for (const [key, value] of Object.entries(figures)) {
      if (typeof value === 'number') out.set(`${prefix}.${key}`, value);
      else walk(`${prefix}.${key}`, value);
    }
  };
  for (const [name, entry] of Object.entries(results.benches)) walk(name, entry.figures);
  return out;
}

export interface Change {
  key: string;
  old?: number;
  new?: number;
  /** new / old - 1, when both exist and old is not 0. */
  ratio?: number;
}

/** Figures of two runs side by side: changed, added and removed ones; unchanged ones are left out. */
export function compare(before: ResultsFile, after: ResultsFile, minChange = 0): Change[] {
  const a = flatten(before);
  const b = flatten(after);
  const changes: Change[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const o = a.get(key);
    const n = b.get(key);
    if (o === undefined || n === undefined) {
      changes.push({ key, old: o, new: n });
      continue;
    }
    if (o === n) continue;
    const ratio = o === 0 ? undefined : n / o - 1;
    if (ratio !== undefined && Math.abs(ratio) < minChange) continue;
    changes.push({ key, old: o, new: n, ratio });
  }
  return changes;
}

export function formatChanges(changes: readonly Change[]): string {
  if (changes.length === 0) return 'no figure changed';
  const fmt = (n: number | undefined) => (n === undefined ? '-' : String(n));
  const width = Math.max(...changes.map((c) => c.key.length));
  return changes
    .map((c) => {
      const what =
        c.old === undefined
          ? 'added'
          : c.new === undefined
            ? 'removed'
            : c.ratio === undefined
              ? 'changed'
              : `${c.ratio >= 0 ? '+' : ''}${(c.ratio * 100).toFixed(1)}%`;
      return `${c.key.padEnd(width)}  ${fmt(c.old).padStart(12)} -> ${fmt(c.new).padEnd(12)} ${what}`;
    })
    .join('\n');
}
