// A validated mapping file (defaults applied) turned into LoadedMappings: one per device it names,
// with rendered topics, merged publish policies and the semantic checks a schema cannot express.
import type { JsonValue, TagConfig, TagProblem } from '../../drivers/types.js';
import type { QoS } from '../broker/api.js';
import { pointerOf, type ConfigProblem } from './problems.js';
import { renderTemplate, topicError } from './topics.js';
import type {
  DeviceConfig,
  LoadedMapping,
  MappedTag,
  PayloadFormat,
  PublishPolicy,
  RateLimit,
  SparkplugMappingConfig,
} from './types.js';

/** The policy keys of a mapping's `defaults` block, all present once ajv applied the defaults. */
interface PolicyDefaults {
  pollMs: number;
  qos: QoS;
  retain: boolean;
  publish: 'change' | 'periodic';
  deadband: number;
  deadbandPercent: number;
  heartbeatMs: number;
  periodMs: number;
  minIntervalMs: number;
  expirySec?: number;
  commandTimeoutMs: number;
}

type RawTag = Partial<PolicyDefaults> & {
  name: string;
  writable: boolean;
  address?: string;
  type?: string;
  min?: number;
  max?: number;
  enum?: Array<number | string | boolean>;
  rateLimit?: RateLimit;
  [key: string]: unknown;
};

interface RawInstance {
  device: string;
  vars: Record<string, string>;
  addressOffset: number;
}

/** The shape of a mapping file once the schema passed and ajv applied its defaults. */
export interface RawMapping {
  device?: string;
  instances?: RawInstance[];
  topic: string;
  tagTopic: string;
  allowEmptyLevels: boolean;
  vars: Record<string, string>;
  format: PayloadFormat;
  fields: Record<string, JsonValue>;
  sparkplug?: Omit<SparkplugMappingConfig, 'edgeNodeId' | 'deviceId'> & {
    edgeNodeId?: string;
    deviceId?: string;
  };
  defaults: PolicyDefaults;
  tags: RawTag[];
}

export type TagChecker = (tag: TagConfig, device: DeviceConfig) => TagProblem[];

export interface ResolveContext {
  /** The file as shown in problems. */
  shownAs: string;
  /** Absolute path. */
  file: string;
  gatewayId: string;
  devices: ReadonlyMap<string, DeviceConfig>;
  /** The semantic tag check of a driver, if it has one. */
  checkerOf(driver: string): TagChecker | undefined;
}

const POLICY_KEYS = [
  'pollMs',
  'qos',
  'retain',
  'publish',
  'deadband',
  'deadbandPercent',
  'heartbeatMs',
  'periodMs',
  'minIntervalMs',
  'expirySec',
  'commandTimeoutMs',
] as const;

const RESERVED_VARS = ['device', 'gatewayId', 'tag', 'topic'];

/** The devices a mapping applies to, each with where its name sits in the file. */
export function instancesOf(raw: RawMapping): Array<RawInstance & { pointer: string }> {
  if (raw.instances)
    return raw.instances.map((inst, i) => ({ ...inst, pointer: pointerOf('instances', i, 'device') }));
  if (raw.device !== undefined)
    return [{ device: raw.device, vars: {}, addressOffset: 0, pointer: '/device' }];
  return [];
}

/**
 * One string per data type name, shared by every tag: JSON.parse gives each tag its own copy of
 * "uint16" (2.3 MB at 100k tags). Bounded by the type names the config uses.
 */
const typeNames = new Map<string, string>();
function typeName(type: string): string {
  let shared = typeNames.get(type);
  if (shared === undefined) typeNames.set(type, (shared = type));
  return shared;
}

/** Adds `offset` to the number of a `table:N` address (a device template's next instance). */
function offsetAddress(address: string, offset: number): string | undefined {
  const match = /^([a-z]+):(\d+)(\.\d+)?$/.exec(address);
  if (!match) return undefined;
  return `${match[1]}:${Number(match[2]) + offset}${match[3] ?? ''}`;
}

/** The tag's publish policy; equal policies are one shared (never mutated) object. */
function policyOf(tag: RawTag, d: PolicyDefaults, shared: Map<string, PublishPolicy>): PublishPolicy {
  const policy = newPolicy(tag, d);
  const key = JSON.stringify(policy);
  const known = shared.get(key);
  if (known) return known;
  // Frozen: a change through one tag would silently change every tag sharing the object.
  shared.set(key, Object.freeze(policy));
  return policy;
}

function newPolicy(tag: RawTag, d: PolicyDefaults): PublishPolicy {
  const minIntervalMs = tag.minIntervalMs ?? d.minIntervalMs;
  if ((tag.publish ?? d.publish) === 'periodic')
    return { kind: 'periodic', periodMs: tag.periodMs ?? d.periodMs, minIntervalMs };
  return {
    kind: 'change',
    deadband: tag.deadband ?? d.deadband,
    deadbandPercent: tag.deadbandPercent ?? d.deadbandPercent,
    heartbeatMs: tag.heartbeatMs ?? d.heartbeatMs,
    minIntervalMs,
  };
}

export function resolveMapping(
  raw: RawMapping,
  ctx: ResolveContext,
): { mappings: LoadedMapping[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (pointer: string, message: string): void =>
    void problems.push({ file: ctx.shownAs, pointer, message });
  const instances = instancesOf(raw);
  if (raw.device !== undefined && raw.instances !== undefined)
    problem('/', 'give either "device" or "instances", not both');
  if (instances.length === 0)
    problem('/', 'missing required key "device" (or "instances" for a device template)');

  // One object per distinct policy, not one per tag (100k tags, mostly one policy: 4.6 MB).
  const policies = new Map<string, PublishPolicy>();
  const reservedFields =
    raw.format === 'json-device' ? ['ts', 'device', 'tags'] : ['value', 'ts', 'quality', 'reason', 'unit'];
  for (const key of Object.keys(raw.fields)) {
    if (reservedFields.includes(key))
      problem(pointerOf('fields', key), `"${key}" is set by the gateway in ${raw.format} payloads`);
  }
  for (const name of Object.keys(raw.vars)) {
    if (RESERVED_VARS.includes(name))
      problem(pointerOf('vars', name), `"${name}" is set by the gateway and cannot be a variable`);
  }

  const firstByName = new Map<string, number>();
  const duplicates = new Set<number>();
  raw.tags.forEach((tag, i) => {
    const first = firstByName.get(tag.name);
    if (first === undefined) firstByName.set(tag.name, i);
    else duplicates.add(i);
    if (first !== undefined)
      problem(pointerOf('tags', i, 'name'), `duplicate tag name "${tag.name}" (first at /tags/${first})`);
    if (tag.min !== undefined && tag.max !== undefined && tag.min > tag.max) {
      problem(pointerOf('tags', i), `min ${tag.min} is above max ${tag.max}`);
    }
  });

  const mappings: LoadedMapping[] = [];
  for (const inst of instances) {
    const device = ctx.devices.get(inst.device);
    if (!device) {
      problem(inst.pointer, `device "${inst.device}" is not defined in gateway.config.json`);
      continue;
    }
    const vars: Record<string, string> = {
      ...device.vars,
      ...raw.vars,
      ...inst.vars,
      device: device.id,
      gatewayId: ctx.gatewayId,
    };
    const deviceTopic = renderTemplate(raw.topic, vars);
    if (!deviceTopic.ok) {
      problem('/topic', deviceTopic.error);
      continue;
    }
    const deviceTopicError = topicError(deviceTopic.topic, raw.allowEmptyLevels);
    if (deviceTopicError) {
      problem('/topic', deviceTopicError);
      continue;
    }
    const checker = ctx.checkerOf(device.driver);
    const tags: MappedTag[] = [];
    raw.tags.forEach((rawTag, i) => {
      if (duplicates.has(i)) return;
      const at = (key?: string): string => (key ? pointerOf('tags', i, key) : pointerOf('tags', i));
      const tagTopic = renderTemplate(raw.tagTopic, { ...vars, topic: deviceTopic.topic, tag: rawTag.name });
      if (!tagTopic.ok) return problem('/tagTopic', tagTopic.error);
      const topicProblem = topicError(tagTopic.topic, raw.allowEmptyLevels);
      if (topicProblem) return problem(at('name'), topicProblem);
      let address = rawTag.address;
      if (address !== undefined && inst.addressOffset !== 0) {
        address = offsetAddress(address, inst.addressOffset);
        if (address === undefined) {
          return problem(
            at('address'),
            `addressOffset needs an address of the form table:number, got "${rawTag.address}"`,
          );
        }
      }
      const rest = Object.fromEntries(
        Object.entries(rawTag).filter(([k]) => !(POLICY_KEYS as readonly string[]).includes(k)),
      );
      // Object.assign, not a spread: spreading a validated tag (ajv added its defaults) gave every
      // tag a hidden class of its own, ~500 bytes a tag (50 MB at 100k tags).
      const tag: MappedTag = Object.assign({}, rest, {
        name: rawTag.name,
        address: address ?? '',
        type: typeName(rawTag.type ?? ''),
        writable: rawTag.writable,
        pollMs: rawTag.pollMs ?? raw.defaults.pollMs,
        topic: tagTopic.topic,
        qos: rawTag.qos ?? raw.defaults.qos,
        retain: rawTag.retain ?? raw.defaults.retain,
        policy: policyOf(rawTag, raw.defaults, policies),
        commandTimeoutMs: rawTag.commandTimeoutMs ?? raw.defaults.commandTimeoutMs,
      });
      const expirySec = rawTag.expirySec ?? raw.defaults.expirySec;
      if (expirySec !== undefined) tag.expirySec = expirySec;
      for (const found of checker?.(tag, device) ?? []) {
        problem(`${at()}${found.pointer}`, found.message);
      }
      tags.push(tag);
    });
    const mapping: LoadedMapping = {
      file: ctx.file,
      device: device.id,
      topic: deviceTopic.topic,
      format: raw.format,
      fields: raw.fields,
      tags,
    };
    if (raw.sparkplug) {
      mapping.sparkplug = {
        ...raw.sparkplug,
        edgeNodeId: raw.sparkplug.edgeNodeId ?? ctx.gatewayId,
        deviceId: raw.sparkplug.deviceId ?? device.id,
      };
    }
    mappings.push(mapping);
  }
  return { mappings, problems };
}
