// One ajv instance holding every fragment, and the composed schemas compiled once: the config file,
// a device (common keys + its driver's keys), and a mapping file per driver (common tag keys + the
// driver's tag keys). unevaluatedProperties:false on the compositions makes every unknown key an error.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import deviceSchema from './device.schema.json' with { type: 'json' };
import gatewaySchema from './gateway.schema.json' with { type: 'json' };
import mappingSchema from './mapping.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };
import { bridgeSchemaId, driverFragments, foreignSchemas, type SchemaObject } from './fragments.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module namespace.
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const formatsModule = addFormatsModule as unknown as FormatsPlugin | { default: FormatsPlugin };
const addFormats: FormatsPlugin = typeof formatsModule === 'function' ? formatsModule : formatsModule.default;

export const DEVICE_ID = 'tagwire://composed/device';
export const GATEWAY_ID = 'tagwire://composed/gateway';
const mappingId = (driver: string | undefined): string => `tagwire://composed/mapping/${driver ?? 'any'}`;

export const driverNames: readonly string[] = driverFragments.map((d) => d.name);

function composedDevice(): SchemaObject {
  return {
    $id: DEVICE_ID,
    type: 'object',
    allOf: [
      { $ref: 'tagwire://device' },
      { properties: { driver: { enum: driverNames } } },
      ...driverFragments.map((d) => ({
        if: { properties: { driver: { const: d.name } }, required: ['driver'] },
        then: { $ref: d.device },
      })),
    ],
    unevaluatedProperties: false,
  };
}

function composedGateway(): SchemaObject {
  const simulators = Object.fromEntries(
    driverFragments.map((d) => [
      d.name,
      {
        description: `Simulated ${d.name} devices.`,
        type: 'array',
        default: [],
        items: { $ref: d.simulator },
      },
    ]),
  );
  return {
    $id: GATEWAY_ID,
    allOf: [{ $ref: 'tagwire://gateway' }],
    properties: {
      broker: { $ref: 'tagwire://broker' },
      bridges: { items: { $ref: bridgeSchemaId } },
      simulators: { properties: simulators },
    },
  };
}

/** A mapping file whose tags carry the keys of `driver`; without a driver, only the common tag keys. */
function composedMapping(driver: (typeof driverFragments)[number] | undefined): SchemaObject {
  const tagItems = driver
    ? { allOf: [{ $ref: 'tagwire://tag' }, { $ref: driver.tag }], unevaluatedProperties: false }
    : { $ref: 'tagwire://tag' };
  return {
    $id: mappingId(driver?.name),
    allOf: [{ $ref: 'tagwire://mapping' }],
    properties: { tags: { items: tagItems } },
  };
}

export const ajv = new Ajv2020({
  allErrors: true,
  useDefaults: true,
  // parentSchema and data on each error: the error wording needs the known keys of an object.
  verbose: true,
  // Fragments are written by several people; keywords ajv's strict mode dislikes must not stop the gateway.
  strict: false,
});
addFormats(ajv);
ajv.addSchema([gatewaySchema, deviceSchema, tagSchema, mappingSchema, ...foreignSchemas]);
ajv.addSchema(composedDevice());
ajv.addSchema(composedGateway());
ajv.addSchema(composedMapping(undefined));
for (const driver of driverFragments) ajv.addSchema(composedMapping(driver));

function compiled(id: string): ValidateFunction {
  const validate = ajv.getSchema(id);
  if (!validate) throw new Error(`internal: schema ${id} is not registered`);
  return validate;
}

export function gatewayValidator(): ValidateFunction {
  return compiled(GATEWAY_ID);
}

/** The validator of a mapping file whose device uses `driver`; `undefined` checks the common keys only. */
export function mappingValidator(driver: string | undefined): ValidateFunction {
  return compiled(mappingId(driver && driverNames.includes(driver) ? driver : undefined));
}

/** Resolves a `$ref` for the error wording (known keys of an object). */
export function schemaById(id: string): SchemaObject | undefined {
  const found = ajv.getSchema(id);
  return found?.schema as SchemaObject | undefined;
}
