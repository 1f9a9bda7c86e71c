// Payload encoding per format. The parts that never change for a tag (unit, static fields, MQTT 5
// properties) are encoded once when the mapping loads, so each sample costs one small string build.
import type { JsonValue, TagSample, TagValue } from '../../drivers/types.js';
import type { MessageProperties } from '../broker/api.js';
import type { LoadedMapping, MappedTag, PayloadFormat } from '../config/types.js';

export function jsonValue(value: TagValue | null, decimals?: number): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'null';
    return String(decimals === undefined ? value : rounded(value, decimals));
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (decimals !== undefined && Array.isArray(value))
    return JSON.stringify(value.map((v) => (typeof v === 'number' ? rounded(v, decimals) : v)));
  return JSON.stringify(value);
}

/** A tag's `decimals`: 21.456 with 1 is 21.5; -0 prints as 0. */
function rounded(value: number, decimals: number): number {
  return Number(value.toFixed(decimals)) + 0;
}

/** `,"unit":"degC","site":"plant1"}`: what follows quality and reason in a `json` payload. */
function jsonTail(tag: MappedTag, fields: Readonly<Record<string, JsonValue>>): string {
  let tail = tag.unit !== undefined ? `,"unit":${JSON.stringify(tag.unit)}` : '';
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'value' || key === 'ts' || key === 'quality' || key === 'reason' || key === 'unit') continue;
    tail += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return `${tail}}`;
}

/** The MQTT 5 properties of a tag's messages (ignored on the wire for 3.1.1 subscribers). */
export function tagProperties(tag: MappedTag, device: string): MessageProperties {
  const userProperties: Record<string, string> = { device };
  if (tag.unit !== undefined) userProperties.unit = tag.unit;
  const properties: MessageProperties = { contentType: 'application/json', userProperties };
  if (tag.expirySec !== undefined) properties.messageExpiryInterval = tag.expirySec;
  return properties;
}

/** The JSON of a sample's reason; a driver that forgot one must not break the payload. */
function reasonOf(sample: Exclude<TagSample, { quality: 'good' }>): string {
  return JSON.stringify(typeof sample.reason === 'string' ? sample.reason : 'unknown');
}

export type TagEncoder = (sample: TagSample) => Buffer;

/** The per-tag encoder of a `json` or `value` mapping. */
export function tagEncoder(
  format: Exclude<PayloadFormat, 'json-device'>,
  tag: MappedTag,
  fields: Readonly<Record<string, JsonValue>>,
): TagEncoder {
  const { decimals } = tag;
  if (format === 'value') return (sample) => Buffer.from(jsonValue(sample.value, decimals));
  const tail = jsonTail(tag, fields);
  const goodTail = `,"quality":"good"${tail}`;
  return (sample) => {
    const head = `{"value":${jsonValue(sample.value, decimals)},"ts":${sample.ts}`;
    if (sample.quality === 'good') return Buffer.from(head + goodTail);
    return Buffer.from(`${head},"quality":"${sample.quality}","reason":${reasonOf(sample)}${tail}`);
  };
}

/** One tag inside a `json-device` snapshot. */
function snapshotEntry(tag: MappedTag, sample: TagSample): string {
  let entry = `{"value":${jsonValue(sample.value, tag.decimals)},"ts":${sample.ts},"quality":"${sample.quality}"`;
  if (sample.quality !== 'good') entry += `,"reason":${reasonOf(sample)}`;
  if (tag.unit !== undefined) entry += `,"unit":${JSON.stringify(tag.unit)}`;
  return `${entry}}`;
}

/**
 * A `json-device` snapshot: `{"ts":..., "device":"press1", "tags":{"temperature":{...}}, ...fields}`,
 * every tag of the device with its latest sample; `ts` is the newest source time among them.
 */
export function snapshotPayload(mapping: LoadedMapping, latest: ReadonlyMap<string, TagSample>): Buffer {
  let ts = 0;
  const entries: string[] = [];
  for (const tag of mapping.tags) {
    const sample = latest.get(tag.name);
    if (!sample) continue;
    if (sample.ts > ts) ts = sample.ts;
    entries.push(`${JSON.stringify(tag.name)}:${snapshotEntry(tag, sample)}`);
  }
  let text = `{"ts":${ts},"device":${JSON.stringify(mapping.device)},"tags":{${entries.join(',')}}`;
  for (const [key, value] of Object.entries(mapping.fields)) {
    if (key === 'ts' || key === 'device' || key === 'tags') continue;
    text += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  return Buffer.from(`${text}}`);
}
