// The defaults appliers' validators generated at build time (defaultsValidatorsSource, written
// beside the built drivers/json-schema.js) behave as the ones Ajv compiles at run time, which is
// what these tests, run from the sources, get: the same defaults filled in, the same problems.
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultsKey, defaultsValidatorsSource, type ValidateFunction } from '../../drivers/json-schema.js';
import { modbusTagConfig, schemas as modbusSchemas } from '../../drivers/modbus/config.js';
import {
  schemas as opcuaSchemas,
  withDeviceDefaults,
  withSimulatorDefaults,
  withTagDefaults,
} from '../../drivers/opcua/defaults.js';
import { brokerConfigSchema, parseBrokerConfig } from '../../src/broker/config.js';
import { repoRoot } from '../helpers/demo-config.js';

let generated: Record<string, ValidateFunction>;

beforeAll(() => {
  const source = defaultsValidatorsSource();
  const module = { exports: {} as Record<string, unknown> };
  // Resolved from the repository, as the built file resolves ajv's runtime from dist/drivers/.
  const require = createRequire(path.join(repoRoot, 'dist/drivers/json-schema.js'));
  new Function('module', 'exports', 'require', source)(module, module.exports, require);
  generated = (module.exports as { validators: Record<string, ValidateFunction> }).validators;
});

/** The generated validator's outcome, worded as an applier words it (or the defaulted copy). */
function viaGenerated(schema: object, input: unknown, where: string): unknown {
  const validate = generated[defaultsKey(schema as Record<string, unknown>)];
  if (!validate) throw new Error('no generated validator for this schema');
  const copy: unknown = structuredClone(input);
  if (validate(copy)) return copy;
  return new Error(
    (validate.errors ?? [])
      .map((e) => `${where}: ${e.instancePath || '/'}: ${e.message ?? 'invalid'}`)
      .join('\n'),
  );
}

function viaRuntime(apply: () => unknown): unknown {
  try {
    return apply();
  } catch (err) {
    return new Error((err as Error).message);
  }
}

describe('defaults validators generated at build time', () => {
  const cases: Array<
    [what: string, schema: object, input: Record<string, unknown>, where: string, apply: () => unknown]
  > = [];
  const opcuaTag = (
    input: Record<string, unknown>,
  ): [string, object, Record<string, unknown>, string, () => unknown] => [
    `OPC UA tag ${JSON.stringify(input)}`,
    opcuaSchemas.tag,
    input,
    'tag t',
    () => withTagDefaults(input, 'tag t'),
  ];
  cases.push(
    opcuaTag({ name: 't', address: 'ns=2;s=Oven.Temperature', type: 'Double' }),
    opcuaTag({ name: 't', address: 'ns=2;s=X', mode: 'poll', queueSize: 5 }),
    opcuaTag({ name: 't', address: 'Oven.Temperature', queueSize: 0 }),
    [
      'OPC UA device',
      opcuaSchemas.device,
      { driver: 'opcua', id: 'oven', endpointUrl: 'opc.tcp://127.0.0.1:4840' },
      'OPC UA device oven',
      () => withDeviceDefaults({ id: 'oven', endpointUrl: 'opc.tcp://127.0.0.1:4840' }),
    ],
    [
      'OPC UA simulator, a bad port',
      opcuaSchemas.simulator,
      { port: -1 },
      'OPC UA simulator',
      () => withSimulatorDefaults({ port: -1 }),
    ],
    [
      'Modbus tag',
      modbusSchemas.tag,
      { name: 'x', address: 'hr:1', type: 'float32', pollMs: 1000, writable: false },
      'invalid modbus tag x',
      () => modbusTagConfig({ name: 'x', address: 'hr:1', type: 'float32', pollMs: 1000, writable: false }),
    ],
    [
      'Modbus tag, a bad address',
      modbusSchemas.tag,
      { name: 'x', address: 'zz:1', type: 'int16', pollMs: 1000, writable: false },
      'invalid modbus tag x',
      () => modbusTagConfig({ name: 'x', address: 'zz:1', type: 'int16', pollMs: 1000, writable: false }),
    ],
    ['broker', brokerConfigSchema, {}, 'broker', () => parseBrokerConfig({})],
  );

  it.each(cases)('%s', (_, schema, input, where, apply) => {
    const runtime = viaRuntime(apply);
    expect(viaGenerated(schema, input, where)).toEqual(runtime);
  });

  it('include a bad input among the cases: the comparison sees problems, not only defaults', () => {
    const failures = cases.filter(([, , , , apply]) => viaRuntime(apply) instanceof Error);
    expect(failures.length).toBeGreaterThanOrEqual(3);
  });
});
