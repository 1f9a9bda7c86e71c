// A mapping file that failed its schema still gets the semantic checks on the parts that passed:
// an unknown key must not hide the other problems of its tag (a typo beside a coil typed float32
// reports both). Unknown keys are set aside; a tag with any other schema fault is left out (its
// fault is reported already); a fault outside the tags leaves nothing safe to check.
import type { ErrorObject } from 'ajv';

type AjvError = ErrorObject<string, Record<string, unknown>, unknown>;

export interface CheckableMapping {
  /** A copy of the mapping: unknown keys removed, faulty tags left out. */
  mapping: Record<string, unknown>;
  /** The original index of each tag kept, by its index in `mapping.tags`. */
  originalIndex: number[];
}

const TAG_PATH = /^\/tags\/(\d+)(?:\/|$)/;

function unescape(key: string): string {
  return key.replace(/~1/g, '/').replace(/~0/g, '~');
}

function objectAt(root: unknown, pointer: string): Record<string, unknown> | undefined {
  let node: unknown = root;
  for (const key of pointer.split('/').slice(1).map(unescape)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node)
    ? (node as Record<string, unknown>)
    : undefined;
}

export function checkableMapping(
  value: Record<string, unknown>,
  errors: readonly AjvError[],
): CheckableMapping | undefined {
  const copy = structuredClone(value);
  const faulty = new Set<number>();
  for (const e of errors) {
    if (e.keyword === 'if') continue; // always beside the fault of its branch
    const tag = TAG_PATH.exec(e.instancePath);
    if (e.keyword === 'unevaluatedProperties' || e.keyword === 'additionalProperties') {
      const key = String(e.params.unevaluatedProperty ?? e.params.additionalProperty);
      const holder = objectAt(copy, e.instancePath);
      if (holder) delete holder[key];
      continue;
    }
    if (!tag) return undefined;
    faulty.add(Number(tag[1]));
  }
  if (!Array.isArray(copy.tags)) return undefined;
  const originalIndex: number[] = [];
  copy.tags = (copy.tags as unknown[]).filter((_, i) => {
    if (faulty.has(i)) return false;
    originalIndex.push(i);
    return true;
  });
  return { mapping: copy, originalIndex };
}

/** A pointer into the checkable copy, as a pointer into the file the user wrote. */
export function originalPointer(pointer: string, originalIndex: readonly number[]): string {
  return pointer.replace(/^\/tags\/(\d+)/, (_, n: string) => `/tags/${originalIndex[Number(n)] ?? n}`);
}
