// The one Ajv set-up of tagwire: the config loader, the broker, the bridges, the drivers and the
// command value checks all get their validators here, so options and keywords cannot drift apart.
// It sits in drivers/ because drivers are the bottom layer: everything may import it, and it
// imports nothing of tagwire. Ajv is loaded on first use: importing this module costs nothing.
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

/**
 * Checks a block against its schema and returns a copy with the schema's defaults filled in;
 * throws one line per problem. For code that builds a block without the config loader (the
 * broker or a bridge embedded alone, tests, benchmarks). `refs` are schemas `schema` refers to.
 * The validator is compiled on the first call.
 */
export function defaultsApplier<T>(
  schema: SchemaObject,
  refs: readonly SchemaObject[] = [],
): (input: unknown, where: string) => T {
  let validate: ValidateFunction | undefined;
  return (input, where) => {
    if (!validate) {
      const ajv = createAjv({ checkSchemas: false });
      for (const ref of refs) ajv.addSchema(ref);
      validate = ajv.compile(schema);
    }
    const copy: unknown = structuredClone(input);
    if (!validate(copy)) throw new Error(describe(validate.errors ?? [], where));
    return copy as T;
  };
}
