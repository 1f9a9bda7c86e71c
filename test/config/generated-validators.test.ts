// The validators generated at build time (scripts/build-validators.mjs) behave as the ones Ajv
// compiles at run time: the same defaults filled in, the same problems worded the same way.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidateFunction } from 'ajv';
import { builtinDrivers } from '../../drivers/index.js';
import { ajvProblems } from '../../src/config/ajv-errors.js';
import { configSchemas, validatorsSource } from '../../src/config/schema.js';
import { repoRoot } from '../helpers/demo-config.js';

const schemas = configSchemas(builtinDrivers);
let dir: string;
let generated: { digest: string; validators: Record<string, ValidateFunction> };

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tagwire-validators-'));
  const file = path.join(dir, 'validators.generated.cjs');
  writeFileSync(file, validatorsSource(builtinDrivers));
  // Resolved from the repository, as the built file resolves ajv's runtime from dist/.
  const source = readFileSync(file, 'utf8');
  const module = { exports: {} as Record<string, unknown> };
  const require = createRequire(path.join(repoRoot, 'dist/src/config/schema.js'));
  new Function('module', 'exports', 'require', source)(module, module.exports, require);
  generated = module.exports as typeof generated;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs both validators on copies of `input`: the copies (defaults filled in) and the worded problems. */
function both(validate: ValidateFunction, compiled: ValidateFunction, input: unknown) {
  const run = (v: ValidateFunction) => {
    const copy: unknown = structuredClone(input);
    const ok = v(copy);
    return { ok, copy, problems: ajvProblems(v.errors ?? [], 'f', schemas.schemaById) };
  };
  return [run(validate), run(compiled)] as const;
}

const demo = JSON.parse(readFileSync(path.join(repoRoot, 'gateway.config.json'), 'utf8')) as Record<
  string,
  unknown
>;
const press = JSON.parse(readFileSync(path.join(repoRoot, 'mappings/press1.json'), 'utf8')) as Record<
  string,
  unknown
>;

describe('validators generated at build time', () => {
  it('carry a digest of the schemas they were made from', () => {
    expect(generated.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(validatorsSource(builtinDrivers)).toContain(generated.digest);
  });

  it.each([
    ['the demo config', demo],
    [
      'a typo in a device',
      {
        ...demo,
        devices: [{ id: 'p', driver: 'modbus', transport: { type: 'tcp', host: 'h', port: 1 }, unitID: 1 }],
      },
    ],
    ['an unknown driver', { devices: [{ id: 'p', driver: 'profibus' }] }],
    [
      'bad values everywhere',
      {
        gateway: { logLevel: 'loud' },
        http: { port: -1 },
        simulators: { modbus: [{ port: 'x' }], dnp3: [] },
      },
    ],
  ])('check the config as the run-time ones do: %s', (name, input) => {
    const [fromBuild, fromAjv] = both(
      generated.validators['tagwire://composed/gateway']!,
      schemas.gateway(),
      input,
    );
    expect(fromBuild).toEqual(fromAjv);
    expect(fromAjv.ok).toBe(name === 'the demo config');
    expect(fromAjv.problems.length > 0).toBe(!fromAjv.ok);
  });

  it.each([
    ['modbus', press],
    ['modbus', { ...press, tags: [{ name: 't', address: 'hr:1', type: 'int16', pollMS: 5 }] }],
    [
      'opcua',
      { device: 'o', topic: 't', tags: [{ name: 'x', address: 'ns=2;s=A', deadbandType: 'sometimes' }] },
    ],
  ])('check a %s mapping as the run-time ones do', (driver, input) => {
    const [fromBuild, fromAjv] = both(
      generated.validators[`tagwire://composed/mapping/${driver}`]!,
      schemas.mapping(driver),
      input,
    );
    expect(fromBuild).toEqual(fromAjv);
  });
});
