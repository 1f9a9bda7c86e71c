// loadConfig: gateway.config.json and every mapping file it names, validated against the composed
// schemas, defaults applied, paths made absolute, mappings resolved. Every problem is collected
// before anything is thrown, so one run of `tagwire validate` shows them all.
import path from 'node:path';
import { isDynamicPattern } from 'tinyglobby';
import { globFiles } from './glob.js';
import { checkBridges, type BridgeConfig } from '../bridge/config.js';
import { ajvProblems } from './ajv-errors.js';
import { parseJson, readJsonFile } from './json.js';
import { sparkplugProblems } from './sparkplug-checks.js';
import { httpProblems } from './http-checks.js';
import { ConfigError, pointerOf, type ConfigProblem } from './problems.js';
import { checkableMapping, originalPointer } from './partial.js';
import { instancesOf, resolveMapping, type RawMapping, type TagChecker } from './resolve.js';
import { configSchemas, type ConfigSchemas } from './schema.js';
import type { DeviceConfig, GatewayConfig, LoadedMapping } from './types.js';
import { builtinDrivers } from '../../drivers/index.js';
import type { DriverModule } from '../../drivers/types.js';

export { ConfigError, formatProblem, type ConfigProblem } from './problems.js';

export interface LoadedConfig {
  /** Absolute path of gateway.config.json. */
  file: string;
  config: GatewayConfig;
  mappings: LoadedMapping[];
  /** The driver registry the config was checked against; the gateway builds its drivers from it. */
  drivers: readonly DriverModule[];
}

export interface LoadOptions {
  /**
   * The driver registry: what `driver` values devices may name, their schema fragments, tag checks,
   * factories and simulators. The built-in drivers (drivers/index.ts) by default.
   */
  drivers?: readonly DriverModule[];
  /** Mapping file contents to use instead of what is on disk (absolute path -> text): checks an edit before it is written. */
  contents?: ReadonlyMap<string, string>;
}

/** How a file is named in problems: relative to the working directory when below it. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** TLS files of listeners and bridges, and OPC UA user certificates: relative to the config file's folder. */
function resolveTlsPaths(config: Record<string, unknown>, dir: string): void {
  for (const device of Array.isArray(config.devices) ? config.devices : []) {
    if (!isObject(device) || !isObject(device.user)) continue;
    for (const key of ['certificate', 'privateKey']) {
      const value = device.user[key];
      if (typeof value === 'string' && !path.isAbsolute(value)) device.user[key] = path.resolve(dir, value);
    }
  }
  const holders: unknown[] = [];
  const broker = config.broker;
  if (isObject(broker) && Array.isArray(broker.listeners)) holders.push(...broker.listeners);
  for (const bridge of Array.isArray(config.bridges) ? config.bridges : []) {
    holders.push(bridge);
    if (isObject(bridge) && Array.isArray(bridge.addresses)) holders.push(...bridge.addresses);
  }
  if (isObject(config.http)) holders.push(config.http);
  for (const holder of holders) {
    if (!isObject(holder) || !isObject(holder.tls)) continue;
    for (const key of ['ca', 'cert', 'key']) {
      const value = holder.tls[key];
      if (typeof value === 'string' && !path.isAbsolute(value)) holder.tls[key] = path.resolve(dir, value);
    }
  }
}

function devicesById(
  config: Record<string, unknown>,
  problems: ConfigProblem[],
  shownAs: string,
): Map<string, DeviceConfig> {
  const devices = new Map<string, DeviceConfig>();
  const firstAt = new Map<string, number>();
  (Array.isArray(config.devices) ? config.devices : []).forEach((device: unknown, i) => {
    if (!isObject(device) || typeof device.id !== 'string' || typeof device.driver !== 'string') return;
    const first = firstAt.get(device.id);
    if (first !== undefined) {
      problems.push({
        file: shownAs,
        pointer: pointerOf('devices', i, 'id'),
        message: `duplicate device id "${device.id}" (first at /devices/${first})`,
      });
      return;
    }
    firstAt.set(device.id, i);
    devices.set(device.id, device as unknown as DeviceConfig);
  });
  return devices;
}

async function mappingFiles(
  patterns: unknown,
  dir: string,
  shownAs: string,
  problems: ConfigProblem[],
): Promise<string[]> {
  const files = new Set<string>();
  if (!Array.isArray(patterns)) return [];
  for (const [i, pattern] of patterns.entries()) {
    if (typeof pattern !== 'string') continue;
    const found = await globFiles(pattern, dir);
    if (found.length === 0) {
      const message = isDynamicPattern(pattern)
        ? `"${pattern}" matches no file`
        : `mapping file "${pattern}" not found`;
      problems.push({ file: shownAs, pointer: pointerOf('mappings', i), message });
    }
    for (const file of found.sort()) files.add(path.normalize(file));
  }
  return [...files];
}

interface FileResult {
  mappings: LoadedMapping[];
  raw?: RawMapping;
  shownAs: string;
}

interface MappingContext {
  devices: ReadonlyMap<string, DeviceConfig>;
  gatewayId: string;
  checkerOf: (driver: string) => TagChecker | undefined;
  schemas: ConfigSchemas;
  problems: ConfigProblem[];
  contents: ReadonlyMap<string, string> | undefined;
}

async function loadMapping(file: string, ctx: MappingContext): Promise<FileResult> {
  const { devices, gatewayId, checkerOf, schemas, problems, contents } = ctx;
  const shownAs = displayPath(file);
  const content = contents?.get(file);
  const read =
    content === undefined
      ? await readJsonFile(file, shownAs)
      : parseJson(content.replace(/^\uFEFF/, ''), shownAs);
  if (!read.ok) {
    problems.push(read.problem);
    return { mappings: [], shownAs };
  }
  problems.push(...read.duplicates);
  if (!isObject(read.value)) {
    problems.push({ file: shownAs, pointer: '/', message: 'a mapping file must hold a JSON object' });
    return { mappings: [], shownAs };
  }
  // The tag keys allowed depend on the driver of the mapping's device(s): validate once per driver.
  const named = [
    read.value.device,
    ...(Array.isArray(read.value.instances)
      ? read.value.instances.map((x: unknown) => (isObject(x) ? x.device : undefined))
      : []),
  ];
  const drivers = new Set<string | undefined>(
    named.flatMap((id) => (typeof id === 'string' && devices.has(id) ? [devices.get(id)!.driver] : [])),
  );
  if (drivers.size === 0) drivers.add(undefined);
  let valid = true;
  let raw: unknown = read.value;
  const seen = new Set<string>();
  const report = (p: ConfigProblem): void => {
    const key = `${p.pointer}\u0000${p.message}`;
    if (!seen.has(key)) problems.push(p);
    seen.add(key);
  };
  const schemaErrors: NonNullable<ReturnType<ConfigSchemas['mapping']>['errors']> = [];
  for (const driver of drivers) {
    const candidate = structuredClone(read.value);
    const validate = schemas.mapping(driver);
    if (validate(candidate)) {
      raw = candidate;
      continue;
    }
    valid = false;
    schemaErrors.push(...(validate.errors ?? []));
    for (const p of ajvProblems(validate.errors ?? [], shownAs, schemas.schemaById)) report(p);
  }
  if (!valid) {
    // The semantic checks still run on what passed the schema (unknown keys set aside).
    const checkable = checkableMapping(read.value, schemaErrors);
    const validate =
      checkable && [...drivers].map((d) => schemas.mapping(d)).find((v) => v(checkable.mapping));
    if (checkable && validate) {
      const partial = resolveMapping(checkable.mapping as unknown as RawMapping, {
        shownAs,
        file,
        gatewayId,
        devices,
        checkerOf,
      });
      for (const p of partial.problems)
        report({ ...p, pointer: originalPointer(p.pointer, checkable.originalIndex) });
      return { mappings: [], shownAs };
    }
    // Still name an unknown device: it is often the one mistake behind the others.
    const partial = read.value as unknown as RawMapping;
    for (const inst of instancesOf({
      ...partial,
      instances: Array.isArray(partial.instances) ? partial.instances : undefined,
    })) {
      if (typeof inst.device === 'string' && !devices.has(inst.device)) {
        report({
          file: shownAs,
          pointer: inst.pointer,
          message: `device "${inst.device}" is not defined in gateway.config.json`,
        });
      }
    }
    return { mappings: [], shownAs };
  }
  const resolved = resolveMapping(raw as RawMapping, { shownAs, file, gatewayId, devices, checkerOf });
  problems.push(...resolved.problems);
  return { mappings: resolved.mappings, raw: raw as RawMapping, shownAs };
}

/** Tag names unique per device and topics unique across every mapping file. */
function crossChecks(results: readonly FileResult[], problems: ConfigProblem[]): void {
  const tagOwner = new Map<string, string>();
  const topicOwner = new Map<string, string>();
  for (const result of results) {
    const indexOf = (name: string): number => result.raw?.tags.findIndex((t) => t.name === name) ?? -1;
    for (const mapping of result.mappings) {
      if (mapping.format === 'json-device') {
        const where = `${result.shownAs} /topic`;
        const owner = topicOwner.get(mapping.topic);
        if (owner)
          problems.push({
            file: result.shownAs,
            pointer: '/topic',
            message: `topic "${mapping.topic}" is already used by ${owner}`,
          });
        else topicOwner.set(mapping.topic, where);
      }
      for (const tag of mapping.tags) {
        const pointer = pointerOf('tags', indexOf(tag.name), 'name');
        const where = `${result.shownAs} ${pointer}`;
        const tagKey = `${mapping.device}\u0000${tag.name}`;
        const tagFirst = tagOwner.get(tagKey);
        if (tagFirst && !tagFirst.startsWith(`${result.shownAs} `)) {
          problems.push({
            file: result.shownAs,
            pointer,
            message: `tag "${tag.name}" of device "${mapping.device}" is already mapped by ${tagFirst}`,
          });
          continue;
        }
        tagOwner.set(tagKey, where);
        if (mapping.format === 'json-device') continue;
        const topicFirst = topicOwner.get(tag.topic);
        if (topicFirst)
          problems.push({
            file: result.shownAs,
            pointer,
            message: `topic "${tag.topic}" is already used by ${topicFirst}`,
          });
        else topicOwner.set(tag.topic, where);
      }
    }
  }
}

/** The bridge checks the schema cannot express (unique names, url or addresses, filters). */
function bridgeProblems(config: Record<string, unknown>, shownAs: string, problems: ConfigProblem[]): void {
  const bridges = Array.isArray(config.bridges) ? (config.bridges as BridgeConfig[]) : [];
  for (const line of checkBridges(bridges)) {
    const colon = line.indexOf(': ');
    problems.push({ file: shownAs, pointer: line.slice(0, colon), message: line.slice(colon + 2) });
  }
}

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const absolute = path.resolve(file);
  const dir = path.dirname(absolute);
  const shownAs = displayPath(absolute);
  const read = await readJsonFile(absolute, shownAs);
  if (!read.ok) throw new ConfigError([read.problem]);
  if (!isObject(read.value))
    throw new ConfigError([{ file: shownAs, pointer: '/', message: 'the config must hold a JSON object' }]);
  const config = read.value;
  // No `http` block, no HTTP server: a config written before the HTTP API does not start
  // listening on port 8080 after an upgrade. `"http": {}` serves on 127.0.0.1:8080.
  if (config.http === undefined) config.http = { enabled: false };
  const problems: ConfigProblem[] = [...read.duplicates];
  const drivers = options.drivers ?? builtinDrivers;
  const schemas = configSchemas(drivers);
  const validate = schemas.gateway();
  if (!validate(config)) problems.push(...ajvProblems(validate.errors ?? [], shownAs, schemas.schemaById));
  else bridgeProblems(config, shownAs, problems);

  const gateway = isObject(config.gateway) ? config.gateway : {};
  if (typeof gateway.dataDir === 'string') gateway.dataDir = path.resolve(dir, gateway.dataDir);
  // A service sets its data folder (/var/lib/tagwire) in its unit, whatever the config says.
  if (process.env.TAGWIRE_DATA_DIR) gateway.dataDir = path.resolve(process.env.TAGWIRE_DATA_DIR);
  resolveTlsPaths(config, dir);
  problems.push(...httpProblems(config.http, shownAs));
  const devices = devicesById(config, problems, shownAs);
  const gatewayId = typeof gateway.id === 'string' ? gateway.id : 'gateway';
  const checkerOf = (driver: string): TagChecker | undefined => {
    const module = drivers.find((d) => d.name === driver);
    return module && ((tag, device) => module.checkTag(tag, device));
  };

  const files = await mappingFiles(config.mappings, dir, shownAs, problems);
  const results: FileResult[] = [];
  for (const mappingFile of files)
    results.push(
      await loadMapping(mappingFile, {
        devices,
        gatewayId,
        checkerOf,
        schemas,
        problems,
        contents: options.contents,
      }),
    );
  crossChecks(results, problems);
  const bridges = Array.isArray(config.bridges) ? (config.bridges as { name: string }[]) : [];
  for (const p of sparkplugProblems(
    results.flatMap((r) => r.mappings),
    bridges,
  ))
    problems.push({ file: displayPath(p.file), pointer: p.pointer, message: p.message });

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    file: absolute,
    config: config as unknown as GatewayConfig,
    mappings: results.flatMap((r) => r.mappings),
    drivers,
  };
}
