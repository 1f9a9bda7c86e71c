// The gateway's heap policy: how far V8 lets the old generation grow past the data that survived
// the last full collection before it runs the next one. V8's own choice (a factor of 1.1 to 4, by
// how fast the program allocates against how fast it collects) let a gateway polling 100k tags
// grow from ~125 MB of live data to ~480 MB of heap, mostly garbage, before each collection. A
// fixed 25% keeps the heap within a quarter of its live data for a few more full collections
// (mostly on V8's background threads). It only changes when collections run: the heap limit stays
// V8's, so a gateway whose live data grows (more tags, queued messages) gets the memory it needs.
import v8 from 'node:v8';

export const HEAP_GROWTH_ENV = 'TAGWIRE_HEAP_GROWTH_PERCENT';
export const DEFAULT_HEAP_GROWTH_PERCENT = 25;
const MAX_PERCENT = 400;

/** `percent` > 0: the old generation may grow by that share of its live data; 0: V8's own heuristic. */
export type HeapPolicy = { percent: number };

/** The policy `env` asks for, or the problem with it. */
export function heapPolicyFrom(env: NodeJS.ProcessEnv): HeapPolicy | { error: string } {
  const raw = env[HEAP_GROWTH_ENV];
  if (raw === undefined || raw.trim() === '') return { percent: DEFAULT_HEAP_GROWTH_PERCENT };
  const text = raw.trim();
  const percent = Number(text);
  if (!/^\d+$/.test(text) || percent > MAX_PERCENT)
    return {
      error: `${HEAP_GROWTH_ENV}: must be a whole number from 0 (V8's own heuristic) to ${MAX_PERCENT}, got ${JSON.stringify(raw)}`,
    };
  return { percent };
}

/** Applies `policy` to this process (V8 reads the flag at each full collection). */
export function applyHeapPolicy(policy: HeapPolicy): void {
  v8.setFlagsFromString(`--heap-growing-percent=${policy.percent}`);
}
