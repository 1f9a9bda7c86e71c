// The HTTP routes' request validators (bodies, query strings), from tagwire's one Ajv set-up and
// compiled at the first request of each route rather than all at start: fastify's own compiler
// compiled every route's schemas before listening (~30 ms of each start, and ~25 ms more to load
// its compilers), though most routes (login, mapping edits, CSV import, audit) may never be called.
import { createRequire } from 'node:module';
import type { FastifySchemaCompiler, FastifySchemaValidationError, FastifyServerOptions } from 'fastify';
import { createAjv, type SchemaObject, type ValidateFunction } from '../../drivers/json-schema.js';

type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * Fastify's validator factory. The options are fastify's defaults for request validation (query
 * strings are text: coerce "5" to 5 and a lone value to a one-element array; fill in defaults; the
 * first error only) except that unknown body keys are errors, not dropped: a misspelt
 * "requestId" must not pass silently.
 */
function lazyValidators(externalSchemas: Record<string, unknown>): FastifySchemaCompiler<unknown> {
  let ajv: ReturnType<typeof createAjv> | undefined;
  const compile = (schema: SchemaObject): ValidateFunction => {
    if (!ajv) {
      // The routes' schemas are ours: no meta-schema check (compiling it costs more than they do).
      ajv = createAjv({ allErrors: false, coerceTypes: 'array', checkSchemas: false, formats: true });
      for (const external of Object.values(externalSchemas)) ajv.addSchema(external as SchemaObject);
    }
    return ajv.compile(schema);
  };
  return ({ schema }) => {
    let validate: ValidateFunction | undefined;
    const check = (data: unknown): boolean => {
      validate ??= compile(schema as SchemaObject);
      const ok = validate(data);
      check.errors = validate.errors as FastifySchemaValidationError[] | null | undefined;
      return ok;
    };
    check.errors = undefined as FastifySchemaValidationError[] | null | undefined;
    return check;
  };
}

// Fastify's factory type names Ajv's own function type; fastify calls any `(data) => boolean`
// with `errors` (a FastifySchemaCompiler's result), which is what the wrapper above is.
export const buildValidator = lazyValidators as unknown as NonNullable<Factories['buildValidator']>;

/**
 * Fastify's own serializer factory (fast-json-stringify), loaded only if a route ever declares a
 * response schema (none does today): resolved where fastify is installed, as fastify itself would.
 */
export const buildSerializer: NonNullable<Factories['buildSerializer']> = (externalSchemas, options) => {
  const here = createRequire(import.meta.url);
  const fromFastify = createRequire(here.resolve('fastify'));
  const selector = fromFastify('@fastify/fast-json-stringify-compiler') as () => NonNullable<
    Factories['buildSerializer']
  >;
  return selector()(externalSchemas, options);
};
