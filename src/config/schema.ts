// The config's schemas, composed from the common fragments beside this file, the fragments other
// components keep beside their code (broker, bridge, Sparkplug) and the fragments of every driver
// in the registry: the config file, a device (common keys + its driver's keys), and a mapping file
// per driver (common tag keys + the driver's tag keys). unevaluatedProperties:false on the
// compositions makes every unknown key an error. Validators are compiled on first use, and only
// the ones a config needs (a mapping validator per driver in use).
import type { DriverModule } from '../../drivers/types.js';
import { createAjv, type SchemaObject, type ValidateFunction } from '../../drivers/json-schema.js';
import brokerSchema from '../broker/config.schema.json' with { type: 'json' };
import bridgeSchema from '../bridge/config.schema.json' with { type: 'json' };
import sparkplugSchema from '../sparkplug/mapping.schema.json' with { type: 'json' };
import deviceSchema from './device.schema.json' with { type: 'json' };
import gatewaySchema from './gateway.schema.json' with { type: 'json' };
import mappingSchema from './mapping.schema.json' with { type: 'json' };
import tagSchema from './tag.schema.json' with { type: 'json' };

export type { SchemaObject };

/** The schemas of gateway.config.json and mapping files for one list of drivers. */
export interface ConfigSchemas {
  /** `$id` of the composed device schema. */
  readonly deviceId: string;
  /** The names of the drivers, in registry order. */
  readonly driverNames: readonly string[];
  gateway(): ValidateFunction;
  /** The validator of a mapping file whose device uses `driver`; `undefined` checks the common keys only. */
  mapping(driver: string | undefined): ValidateFunction;
  /** A schema by `$id` (the error wording follows `$ref`s to find the known keys of an object). */
  schemaById(id: string): SchemaObject | undefined;
}

/** Every fragment that is not a driver's: `$id` -> schema. */
export const commonSchemas: readonly SchemaObject[] = [
  gatewaySchema,
  deviceSchema,
  tagSchema,
  mappingSchema,
  brokerSchema,
  bridgeSchema,
  sparkplugSchema,
];

function compose(drivers: readonly DriverModule[]): ConfigSchemas {
  const names = drivers.map((d) => d.name);
  // Each list of drivers has its own Ajv instance and lookup: the composed ids need not differ.
  const base = 'tagwire://composed';
  const deviceId = `${base}/device`;
  const gatewayId = `${base}/gateway`;
  const mappingId = (driver: string | undefined): string => `${base}/mapping/${driver ?? 'any'}`;
  const withSimulator = drivers.filter((d) => d.schemas.simulator);

  const composed: SchemaObject[] = [
    {
      $id: deviceId,
      type: 'object',
      allOf: [
        { $ref: 'tagwire://device' },
        { properties: { driver: { enum: names } } },
        ...drivers.map((d) => ({
          if: { properties: { driver: { const: d.name } }, required: ['driver'] },
          then: { $ref: d.schemas.device.$id },
        })),
      ],
      unevaluatedProperties: false,
    },
    {
      $id: gatewayId,
      allOf: [{ $ref: 'tagwire://gateway' }],
      properties: {
        broker: { $ref: 'tagwire://broker' },
        bridges: { items: { $ref: 'tagwire://bridge' } },
        simulators: {
          default: {},
          additionalProperties: false,
          properties: Object.fromEntries(
            withSimulator.map((d) => [
              d.name,
              {
                description: `Simulated ${d.title} devices.`,
                type: 'array',
                default: [],
                items: { $ref: d.schemas.simulator!.$id },
              },
            ]),
          ),
        },
      },
    },
    // A mapping file whose device's driver is unknown: only the common tag keys.
    { $id: mappingId(undefined), allOf: [{ $ref: 'tagwire://mapping' }] },
    ...drivers.map((d) => ({
      $id: mappingId(d.name),
      allOf: [{ $ref: 'tagwire://mapping' }],
      properties: {
        tags: {
          items: {
            allOf: [{ $ref: 'tagwire://tag' }, { $ref: d.schemas.tag.$id }],
            unevaluatedProperties: false,
          },
        },
      },
    })),
  ];
  const fragments = drivers.flatMap((d) => Object.values(d.schemas).filter((s) => s !== undefined));
  const all = [...commonSchemas, ...fragments, ...composed];
  const byId = new Map(all.map((s) => [String(s.$id), s]));

  // Fragments are written by several people; keywords strict mode dislikes must not stop the gateway.
  // verbose: parentSchema and data on each error, for the error wording (known keys of an object).
  const ajv = createAjv({ strict: false, verbose: true, formats: true });
  ajv.addSchema(all);
  const compiled = (id: string): ValidateFunction => {
    const validate = ajv.getSchema(id);
    if (!validate) throw new Error(`internal: schema ${id} is not registered`);
    return validate;
  };
  return {
    deviceId,
    driverNames: names,
    gateway: () => compiled(gatewayId),
    mapping: (driver) => compiled(mappingId(driver && names.includes(driver) ? driver : undefined)),
    schemaById: (id) => {
      const [base = '', pointer = ''] = id.split('#');
      let node: unknown = byId.get(base);
      // `tagwire://tag#/$defs/policy`: follow the JSON pointer inside the document.
      for (const part of pointer.split('/').slice(1)) {
        node = (node as SchemaObject | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
      }
      return node as SchemaObject | undefined;
    },
  };
}

const composedFor = new WeakMap<readonly DriverModule[], ConfigSchemas>();

/** The schemas for a list of drivers, composed once per list. */
export function configSchemas(drivers: readonly DriverModule[]): ConfigSchemas {
  let schemas = composedFor.get(drivers);
  if (!schemas) {
    schemas = compose(drivers);
    composedFor.set(drivers, schemas);
  }
  return schemas;
}
