// A JSON example of the docs, checked as the gateway would check it: placed into a small config
// (a whole config, a block of it, a device, a broker or bridge fragment, a mapping, a tag) and loaded
// with loadConfig, so schema and semantic checks both apply. Messages (payloads, results) are
// checked for the contract's keys.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { knownKeys } from '../../src/config/ajv-errors.js';
import { ConfigError, formatProblem, loadConfig } from '../../src/config/load.js';
import { builtinDrivers } from '../../drivers/index.js';
import { configSchemas } from '../../src/config/schema.js';
import { ajvProblems } from '../../src/config/ajv-errors.js';

type Json = Record<string, unknown>;

const schemas = configSchemas(builtinDrivers);
const schemaById = schemas.schemaById;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

const keysOf = (id: string): Set<string> => {
  const schema = schemaById(id);
  return new Set(Object.keys((schema?.properties as Json | undefined) ?? {}));
};

const OPCUA_ADDRESS = /^(ns=\d+;|nsu=[^;]+;)?[isgb]=/;

function driverOfTags(tags: unknown): 'modbus' | 'opcua' {
  const list = Array.isArray(tags) ? tags : [];
  return list.some((t) => isObject(t) && typeof t.address === 'string' && OPCUA_ADDRESS.test(t.address))
    ? 'opcua'
    : 'modbus';
}

function device(id: string, driver: 'modbus' | 'opcua', extra: Json = {}): Json {
  return driver === 'opcua'
    ? { id, driver, endpointUrl: 'opc.tcp://127.0.0.1:4840', ...extra }
    : { id, driver, transport: { type: 'tcp', host: '127.0.0.1', port: 502 }, ...extra };
}

interface Case {
  config: Json;
  mapping?: Json;
  /** Checked by the schema only (the keys loadConfig cannot take as they are, e.g. mapping globs). */
  schemaOnly?: Json;
}

/** What the example is, as a config to load; a string when it cannot be told. */
function caseOf(value: Json): Case | string {
  const base = (): Json => ({ gateway: { id: 'docs' }, devices: [], mappings: [] });
  const keys = Object.keys(value);
  const all = (set: Set<string>): boolean => keys.length > 0 && keys.every((k) => set.has(k));
  if ('tags' in value && ('topic' in value || 'device' in value || 'instances' in value)) {
    const driver = driverOfTags(value.tags);
    const ids = [
      value.device,
      ...(Array.isArray(value.instances)
        ? value.instances.map((i) => (isObject(i) ? i.device : undefined))
        : []),
    ].filter((id): id is string => typeof id === 'string');
    // Topic variables an example takes from its device (`vars` of the device in the config).
    const builtIn = new Set([
      'device',
      'gatewayId',
      'topic',
      'tag',
      ...Object.keys(isObject(value.vars) ? value.vars : {}),
    ]);
    const template = `${String(value.topic)} ${String(value.tagTopic ?? '')}`;
    const vars = Object.fromEntries(
      [...template.matchAll(/\{(\w+)\}/g)]
        .map((m) => m[1]!)
        .filter((v) => !builtIn.has(v))
        .map((v) => [v, v]),
    );
    // A Sparkplug output through a bridge names a bridge of the config.
    const sparkplug = isObject(value.sparkplug) ? value.sparkplug : {};
    const bridges =
      typeof sparkplug.bridge === 'string' ? [{ name: sparkplug.bridge, url: 'mqtt://127.0.0.1:1884' }] : [];
    return {
      config: { ...base(), bridges, devices: ids.map((id) => device(id, driver, { vars })) },
      mapping: value,
    };
  }
  if ('name' in value && 'address' in value) {
    const driver = driverOfTags([value]);
    return {
      config: { ...base(), devices: [device('docs-device', driver)] },
      mapping: { device: 'docs-device', topic: 'docs/device', tags: [value] },
    };
  }
  if ('driver' in value && 'id' in value) return { config: { ...base(), devices: [value] } };
  if (all(keysOf('tagwire://gateway'))) {
    const config = { ...base(), ...value };
    // Mapping globs name files of the reader's machine: the schema checks them, not the loader.
    return { config: { ...config, mappings: [] }, schemaOnly: config };
  }
  if (all(keysOf('tagwire://broker'))) return { config: { ...base(), broker: value } };
  if (all(keysOf('tagwire://bridge')))
    return { config: { ...base(), bridges: [{ name: 'docs', url: 'mqtt://127.0.0.1:1884', ...value }] } };
  if (all(knownKeys(schemaById(schemas.deviceId), undefined, schemaById))) {
    const driver = 'endpointUrl' in value || 'user' in value ? 'opcua' : 'modbus';
    return { config: { ...base(), devices: [device('docs-device', driver, value)] } };
  }
  return `not a config example (keys ${keys.join(', ')})`;
}

/** Payloads and results: the contract's keys. */
function messageProblems(value: Json): string[] | undefined {
  const result = ['requestId', 'error', 'value', 'values'].some((k) => k in value);
  if ('ok' in value && result) {
    if (typeof value.ok !== 'boolean') return ['a result has "ok": true or false'];
    return value.ok || typeof value.error === 'string' ? [] : ['a refused result says why in "error"'];
  }
  if ('quality' in value || ('value' in value && 'ts' in value)) {
    const problems: string[] = [];
    if (typeof value.ts !== 'number') problems.push('a value message has a numeric "ts"');
    if (!['good', 'uncertain', 'bad'].includes(value.quality as string))
      problems.push('"quality" is good, uncertain or bad');
    if (value.quality !== 'good' && typeof value.reason !== 'string')
      problems.push('a value that is not good says why in "reason"');
    return problems;
  }
  if ('ts' in value && 'device' in value && isObject(value.tags)) {
    return Object.values(value.tags).flatMap((t) =>
      isObject(t) ? (messageProblems(t) ?? []) : ['a tag entry'],
    );
  }
  return undefined;
}

/** The problems of one JSON value of the docs; empty when it is good. */
export async function jsonExampleProblems(value: unknown): Promise<string[]> {
  // Lists and scalars (API answers) are JSON, which jsonValues already checked.
  if (!isObject(value)) return [];
  const message = messageProblems(value);
  if (message) return message;
  const found = caseOf(value);
  // Not a config, mapping or tag message (an HTTP request or answer body): its JSON was checked.
  if (typeof found === 'string') return [];
  const problems: string[] = [];
  if (found.schemaOnly) {
    const validate = schemas.gateway();
    if (!validate(structuredClone(found.schemaOnly)))
      problems.push(...ajvProblems(validate.errors ?? [], 'example', schemaById).map(formatProblem));
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'tagwire-docs-json-'));
  try {
    const config = { ...found.config };
    if (found.mapping) {
      mkdirSync(path.join(dir, 'mappings'));
      writeFileSync(path.join(dir, 'mappings', 'example.json'), JSON.stringify(found.mapping));
      config.mappings = ['mappings/example.json'];
    }
    writeFileSync(path.join(dir, 'gateway.config.json'), JSON.stringify(config));
    await loadConfig(path.join(dir, 'gateway.config.json'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems.map((p) => `${p.pointer}: ${p.message}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}
