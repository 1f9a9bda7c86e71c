// ajv's errors turned into one human line each: unknown keys with a "did you mean", the allowed
// values of an enum, the expected type with what was found. Branch noise of if/then, anyOf and
// oneOf is folded into the one error that explains the value.
import type { ErrorObject } from 'ajv';
import type { SchemaObject } from './schema.js';
import type { ConfigProblem } from './problems.js';

type AjvError = ErrorObject<string, Record<string, unknown>, unknown>;

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function list(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

export function suggest(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of known) {
    const score = candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best !== undefined && bestScore <= Math.max(1, Math.min(3, Math.floor(key.length / 3)))
    ? best
    : undefined;
}

/** Finds a schema by `$id` (ConfigSchemas.schemaById), to follow `$ref`s. */
export type SchemaLookup = (id: string) => SchemaObject | undefined;

function resolveRef(
  ref: string,
  base: string | undefined,
  lookup: SchemaLookup,
): { schema: SchemaObject; base: string } | undefined {
  const id = ref.startsWith('#') && base ? `${base}${ref}` : ref;
  const schema = lookup(id);
  return schema ? { schema, base: id.split('#')[0]! } : undefined;
}

/** Whether a discriminating `if` (const/enum on properties) holds for `data`. */
function ifHolds(condition: unknown, data: unknown): boolean {
  if (!condition || typeof condition !== 'object' || !data || typeof data !== 'object') return false;
  const props = (condition as SchemaObject).properties as Record<string, SchemaObject> | undefined;
  for (const [key, rule] of Object.entries(props ?? {})) {
    const value = (data as Record<string, unknown>)[key];
    if ('const' in rule && rule.const !== value) return false;
    if (Array.isArray(rule.enum) && !rule.enum.includes(value)) return false;
  }
  return true;
}

/**
 * The keys a schema declares for an object. `data` picks the if/then branches that apply;
 * without it every branch counts.
 */
export function knownKeys(
  schema: unknown,
  data: unknown,
  lookup: SchemaLookup,
  base?: string,
  out = new Set<string>(),
  depth = 0,
): Set<string> {
  if (!schema || typeof schema !== 'object' || depth > 12) return out;
  const s = schema as SchemaObject;
  const here = typeof s.$id === 'string' ? s.$id : base;
  if (typeof s.$ref === 'string') {
    const target = resolveRef(s.$ref, here, lookup);
    if (target) knownKeys(target.schema, data, lookup, target.base, out, depth + 1);
  }
  for (const key of Object.keys((s.properties as object | undefined) ?? {})) out.add(key);
  for (const group of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = s[group];
    if (Array.isArray(branches)) for (const b of branches) knownKeys(b, data, lookup, here, out, depth + 1);
  }
  if (s.if !== undefined) {
    if (data === undefined || ifHolds(s.if, data)) knownKeys(s.then, data, lookup, here, out, depth + 1);
    if (data === undefined || !ifHolds(s.if, data)) knownKeys(s.else, data, lookup, here, out, depth + 1);
  }
  return out;
}

/** The schema's own words for a failed `pattern`, if it has them. */
export function patternWords(schema: unknown): string | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  const custom = (schema as SchemaObject).errorMessage;
  if (typeof custom === 'string') return custom;
  if (custom && typeof custom === 'object') {
    const words = (custom as Record<string, unknown>).pattern;
    if (typeof words === 'string') return words;
  }
  return undefined;
}

function message(e: AjvError): string {
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return `missing required key "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${list(p.allowedValues as unknown[])}, got ${describeValue(e.data)}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}, got ${describeValue(e.data)}`;
    case 'type': {
      const types = String(p.type).split(',');
      return `must be ${types.map((t) => TYPE_WORDS[t] ?? t).join(' or ')}, got ${describeValue(e.data)}`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}, got ${describeValue(e.data)}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    case 'minItems':
      return `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`;
    case 'pattern': {
      // Words beside the pattern in the schema (`"errorMessage": { "pattern": "must be ..." }`, the
      // ajv-errors form); a raw regular expression says nothing to most readers.
      const words = patternWords(e.parentSchema);
      return words
        ? `${words}, got ${describeValue(e.data)}`
        : `${describeValue(e.data)} does not have the expected form (${String(p.pattern)})`;
    }
    case 'format':
      return `must be a valid ${String(p.format)}, got ${describeValue(e.data)}`;
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

function unknownKey(key: string, known: Set<string>): string {
  const hint = suggest(key, known);
  return hint ? `unknown key "${key}" (did you mean "${hint}"?)` : `unknown key "${key}"`;
}

/** An anyOf/oneOf that failed: one line explaining the value, from the branch that came closest. */
function foldBranches(group: AjvError, branchErrors: AjvError[]): AjvError[] {
  const atValue = branchErrors.filter((e) => e.instancePath === group.instancePath);
  if (atValue.length === branchErrors.length && atValue.every((e) => e.keyword === 'type')) {
    const types = [...new Set(atValue.flatMap((e) => String(e.params.type).split(',')))];
    return [{ ...atValue[0]!, params: { type: types.join(',') } }];
  }
  if (
    atValue.length === branchErrors.length &&
    atValue.every((e) => e.keyword === 'const' || e.keyword === 'enum')
  ) {
    const allowed = atValue.flatMap((e) =>
      e.keyword === 'const' ? [e.params.allowedValue] : (e.params.allowedValues as unknown[]),
    );
    return [{ ...atValue[0]!, keyword: 'enum', params: { allowedValues: allowed } }];
  }
  const byBranch = new Map<string, AjvError[]>();
  for (const e of branchErrors) {
    const branch = e.schemaPath.slice(0, e.schemaPath.indexOf('/', group.schemaPath.length + 1) >>> 0);
    byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
  }
  // The closest branch: the one whose errors sit deepest (it matched the most before failing).
  const depth = (errs: AjvError[]): number => Math.max(...errs.map((e) => e.instancePath.split('/').length));
  const best = [...byBranch.values()].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
  return best ?? [group];
}

/** ajv's errors as problems of `file`, one per distinct fault; `lookup` resolves the schemas' `$ref`s. */
export function ajvProblems(
  errors: readonly AjvError[],
  file: string,
  lookup: SchemaLookup,
): ConfigProblem[] {
  let pending = errors.filter((e) => e.keyword !== 'if');
  for (const group of errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')) {
    const prefix = `${group.schemaPath}/`;
    const inside = pending.filter((e) => e.schemaPath.startsWith(prefix));
    const folded = foldBranches(group, inside);
    // The folded lines take the place of the branch errors, keeping the document order.
    const at = pending.findIndex((e) => e === group || inside.includes(e));
    const rest = pending.filter((e) => e !== group && !inside.includes(e));
    const before = pending.slice(0, Math.max(0, at)).filter((e) => rest.includes(e));
    pending = [...before, ...folded, ...rest.slice(before.length)];
  }
  const discriminatorFailed = new Set(
    pending
      .filter((e) => e.keyword === 'enum' || e.keyword === 'const')
      .map((e) => e.instancePath.slice(0, e.instancePath.lastIndexOf('/'))),
  );
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of pending) {
    const pointer = e.instancePath === '' ? '/' : e.instancePath;
    let text: string | undefined;
    if (e.keyword === 'unevaluatedProperties' || e.keyword === 'additionalProperties') {
      const key = String(e.params.unevaluatedProperty ?? e.params.additionalProperty);
      const applicable = knownKeys(e.parentSchema, e.data, lookup);
      if (applicable.has(key)) continue; // declared by a branch that failed for another reason, reported on its own
      if (discriminatorFailed.has(e.instancePath) && knownKeys(e.parentSchema, undefined, lookup).has(key))
        continue;
      text = unknownKey(key, applicable);
    } else {
      text = message(e);
    }
    const line = `${pointer}\u0000${text}`;
    if (seen.has(line)) continue;
    seen.add(line);
    problems.push({ file, pointer, message: text });
  }
  return problems;
}
