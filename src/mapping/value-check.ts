// The schema a command value must match, built from the tag (type, count, min, max, enum) and
// compiled once per writable tag with ajv (at its first command); its errors worded for the person who sent the command.
import { createAjv, type ErrorObject, type ValidateFunction } from '../../drivers/json-schema.js';
import { describeValue } from '../config/ajv-errors.js';
import type { MappedTag } from '../config/types.js';

// First error only, no defaults: a command value is checked, never filled in. Built per tag: not
// strict, and not checked against the meta-schema (valueSchema builds it from a validated tag).
// Made at the first command: a start loads no Ajv for the checks of tags never written.
let ajv: ReturnType<typeof createAjv> | undefined;
const valueAjv = (): ReturnType<typeof createAjv> =>
  (ajv ??= createAjv({ allErrors: false, useDefaults: false, strict: false, checkSchemas: false }));

/** The JSON type a driver's data type takes in commands; undefined when any JSON value may do. */
function scalarSchema(type: string): Record<string, unknown> {
  const t = type.toLowerCase();
  if (t === 'bool' || t === 'boolean') return { type: 'boolean' };
  if (t === 'int64' || t === 'uint64') return { type: ['integer', 'string'], pattern: '^-?[0-9]+$' };
  if (/^u?int(8|16|32)?$/.test(t) || t === 'byte' || t === 'sbyte') return { type: 'integer' };
  if (/^(float|double)(32|64)?$/.test(t)) return { type: 'number' };
  if (t === 'string' || t === 'localizedtext') return { type: 'string' };
  return { not: { type: 'null' } };
}

/**
 * A scaled integer tag takes engineering values (80.3 with scale 0.1): the integer check belongs
 * to the raw value after inverse scaling, which the driver does (and refuses values between steps).
 */
function isScaled(tag: MappedTag): boolean {
  return (tag.scale !== undefined && tag.scale !== 1) || (tag.offset !== undefined && tag.offset !== 0);
}

export function valueSchema(tag: MappedTag): Record<string, unknown> {
  const plain = scalarSchema(tag.type);
  const integer = plain.type === 'integer' || (Array.isArray(plain.type) && plain.type.includes('integer'));
  const scalar: Record<string, unknown> = integer && isScaled(tag) ? { type: 'number' } : plain;
  if (tag.min !== undefined) scalar.minimum = tag.min;
  if (tag.max !== undefined) scalar.maximum = tag.max;
  if (tag.enum !== undefined) scalar.enum = tag.enum;
  if (typeof tag.count === 'number' && tag.count > 1) {
    return { type: 'array', minItems: tag.count, maxItems: tag.count, items: scalar };
  }
  return scalar;
}

const TYPE_WORDS: Record<string, string> = {
  boolean: 'true or false',
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  array: 'an array',
};

function word(e: ErrorObject, value: unknown): string {
  const where = e.instancePath ? `value[${e.instancePath.slice(1)}]` : 'value';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'maximum':
      return `${where} ${describeValue(value)} above max ${String(p.limit)}`;
    case 'minimum':
      return `${where} ${describeValue(value)} below min ${String(p.limit)}`;
    case 'type':
      return `${where} must be ${String(p.type)
        .split(',')
        .map((t) => TYPE_WORDS[t] ?? t)
        .join(' or ')}, got ${describeValue(value)}`;
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(value)}`;
    case 'minItems':
    case 'maxItems':
      return `value must be an array of ${String(p.limit)} elements`;
    case 'pattern':
      return `${where} must be an integer (a number or a string of digits), got ${describeValue(value)}`;
    case 'not':
      return 'value must not be null';
    default:
      return `${where} ${e.message ?? 'is not allowed'}`;
  }
}

/** Returns the wording of why `value` may not be written, or undefined when it may. */
export type ValueCheck = (value: unknown) => string | undefined;

/** The check of a tag's command values; its validator is compiled at the first command. */
export function compileValueCheck(tag: MappedTag): ValueCheck {
  const schema = valueSchema(tag);
  let validate: ValidateFunction | undefined;
  return (value) => {
    validate ??= valueAjv().compile(schema);
    if (validate(value)) return undefined;
    const error = validate.errors?.[0];
    if (!error) return 'value is not allowed';
    const at = error.instancePath ? (value as unknown[])[Number(error.instancePath.slice(1))] : value;
    return word(error, at);
  };
}
