// A tag's latest value as the JSON text the API sends (/api/tags items, /api/events `tags`), written
// by hand after a prefix prepared once per tag: at 10,000 tags no object per value and no generic
// serialisation. The key order is the documented one: ...prefix, value, quality, reason?, ts.
import type { TagSample } from '../../drivers/types.js';

function valueText(value: TagSample['value']): string {
  return typeof value === 'number'
    ? Number.isFinite(value)
      ? String(value)
      : 'null'
    : JSON.stringify(value);
}

/** `prefix` (an object's opening and fields, without the closing brace) and the sample's fields. */
export function sampleJson(prefix: string, sample: TagSample): string {
  const reason = sample.quality === 'good' ? '' : `,"reason":${JSON.stringify(sample.reason)}`;
  return `${prefix},"value":${valueText(sample.value)},"quality":"${sample.quality}"${reason},"ts":${sample.ts}}`;
}
