// The one Ajv set-up of tagwire: the config loader, the broker, the bridges, the drivers and the
// command value checks all get their validators here, so options and keywords cannot drift apart.
// It sits in drivers/ because drivers are the bottom layer: everything may import it, and it
// imports nothing of tagwire. Ajv is loaded on first use: importing this module costs nothing.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020.js';

export type SchemaObject = Record<string, unknown>;
export type { ErrorObject, ValidateFunction };

const require = createRequire(import.meta.url);

export interface AjvSetup {
  /** Report every problem, not only the first (default true). */
  allErrors?: boolean;
  /** Fill in schema defaults (default true): the schemas are the one place defaults live. */
  useDefaults?: boolean;
  /** Fail on keywords Ajv does not know (default true). Composed or generated schemas may relax it. */
  strict?: boolean;
  /** Coerce text to the schema's types (HTTP query strings); default false. */
  coerceTypes?: boolean | 'array';
  /** `parentSchema` and `data` on each error (the config error wording needs them). */
  verbose?: boolean;
  /** The `format` keyword's formats (ajv-formats). */
  formats?: boolean;
  /** Keep each validator's source, for `standaloneCode` (validators generated at build time). */
  standalone?: boolean;
  /**
   * Check each schema against the JSON Schema meta-schema first (default true). The first check
   * compiles the 2020-12 meta-schema: ~50 ms of CPU per Ajv instance, at every start. Schemas of
   * this repository compiled at run time (defaults, command value checks) skip it: the build's
   * generated config validators and the tests from the sources check every fragment with it.
   */
  checkSchemas?: boolean;
}

type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;

/** A new Ajv instance with tagwire's options and keywords. */
export function createAjv(setup: AjvSetup = {}): Ajv2020 {
  const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const options: Options = {
    allErrors: setup.allErrors ?? true,
    useDefaults: setup.useDefaults ?? true,
    strict: setup.strict ?? true,
    verbose: setup.verbose ?? false,
    validateSchema: setup.checkSchemas ?? true,
    coerceTypes: setup.coerceTypes ?? false,
  };
  if (setup.standalone) {
    const { _ } = require('ajv') as typeof import('ajv');
    // The generated code loads the same formats when it runs (CommonJS, beside the build output).
    options.code = { source: true, formats: _`require("ajv-formats/dist/formats").fullFormats` };
  }
  const ajv = new AjvClass(options);
  // Words for a failed pattern, used by the config error wording: an annotation, no validation of its own.
  ajv.addKeyword('errorMessage');
  if (setup.formats) {
    // ajv-formats is CommonJS: its plugin is the export itself or its `default`.
    const formats = require('ajv-formats') as FormatsPlugin | { default: FormatsPlugin };
    (typeof formats === 'function' ? formats : formats.default)(ajv);
  }
  return ajv;
}

/** One problem per line: `<where>: /pointer: message`. */
function describe(errors: readonly ErrorObject[], where: string): string {
  return errors.map((e) => `${where}: ${e.instancePath || '/'}: ${e.message ?? 'invalid'}`).join('\n');
}

/** The Ajv set-up of `defaultsApplier`: a schema of this repository, checked by the build and tests. */
const DEFAULTS_SETUP = { checkSchemas: false } as const;

/** Every applier made, by the digest of what it validates with: the build generates their code. */
const appliers = new Map<string, { schema: SchemaObject; refs: readonly SchemaObject[] }>();

/** Written beside this file by scripts/build-validators.mjs (defaultsValidatorsSource). */
const GENERATED = './defaults.generated.cjs';
let generated: Record<string, ValidateFunction> | null | undefined;

function generatedValidator(key: string): ValidateFunction | undefined {
  if (generated === undefined) {
    try {
      generated = (require(GENERATED) as { validators: Record<string, ValidateFunction> }).validators;
    } catch {
      generated = null; // not built (a tsx run from the sources): compiled when first used
    }
  }
  return generated?.[key];
}

/** What an applier's generated validator is exported as: a digest of its set-up and schemas. */
export function defaultsKey(schema: SchemaObject, refs: readonly SchemaObject[] = []): string {
  return createHash('sha256')
    .update(JSON.stringify([DEFAULTS_SETUP, schema, refs]))
    .digest('hex');
}

/**
 * Checks a block against its schema and returns a copy with the schema's defaults filled in;
 * throws one line per problem. For code that builds a block without the config loader (the
 * broker or a bridge embedded alone, tests, benchmarks) and for drivers. `refs` are schemas
 * `schema` refers to. The validator is the one generated at build time for this very schema if
 * there is one (a start then loads no Ajv for it), else compiled on the first call.
 */
export function defaultsApplier<T>(
  schema: SchemaObject,
  refs: readonly SchemaObject[] = [],
): (input: unknown, where: string) => T {
  const key = defaultsKey(schema, refs);
  appliers.set(key, { schema, refs });
  let validate: ValidateFunction | undefined;
  return (input, where) => {
    if (!validate) {
      validate = generatedValidator(key);
      if (!validate) {
        const ajv = createAjv(DEFAULTS_SETUP);
        for (const ref of refs) ajv.addSchema(ref);
        validate = ajv.compile(schema);
      }
    }
    const copy: unknown = structuredClone(input);
    if (!validate(copy)) throw new Error(describe(validate.errors ?? [], where));
    return copy as T;
  };
}

/**
 * The CommonJS source of every applier made so far (import the modules that make them first),
 * each exported under its digest; scripts/build-validators.mjs writes it to GENERATED. The build
 * checks each schema against the meta-schema, which run-time compiles skip.
 */
export function defaultsValidatorsSource(): string {
  const ajv = createAjv({ ...DEFAULTS_SETUP, checkSchemas: true, standalone: true });
  const added = new Map<string, string>();
  const add = (s: SchemaObject): void => {
    const id = s.$id;
    if (typeof id !== 'string') throw new Error('a defaults schema needs an $id to be generated');
    const text = JSON.stringify(s);
    if (!added.has(id)) ajv.addSchema(s);
    else if (added.get(id) !== text) throw new Error(`two different defaults schemas have the $id ${id}`);
    added.set(id, text);
  };
  const exports: Record<string, string> = {};
  for (const [key, { schema, refs }] of appliers) {
    refs.forEach(add);
    add(schema);
    exports[key] = String(schema.$id);
  }
  const { default: standaloneCode } =
    require('ajv/dist/standalone') as typeof import('ajv/dist/standalone/index.js');
  return `${standaloneCode(ajv, exports)}\nmodule.exports = { validators: module.exports };\n`;
}
