// The tag list of /api/tags, prepared once per loaded config: each tag's fixed fields already as
// JSON text and a lower-case text to search, so a request for 10,000 tags only appends each tag's
// latest value and joins strings (no object per tag, no generic serialisation of the static part).
import type { TagSample } from '../../drivers/types.js';
import type { LoadedMapping } from '../config/types.js';
import { setFields } from '../fields.js';
import { sampleJson } from './sample-json.js';

interface Entry {
  device: string;
  name: string;
  /** `{"device":...,"writable":...` without the closing brace. */
  prefix: string;
  haystack: string;
}

export interface TagQuery {
  device?: string;
  /** Lower-case text to find in name, topic, address, device or description. */
  q: string;
  limit: number;
  offset: number;
}

const catalogs = new WeakMap<readonly LoadedMapping[], Entry[]>();

function entriesOf(mappings: readonly LoadedMapping[]): Entry[] {
  let entries = catalogs.get(mappings);
  if (entries) return entries;
  entries = [];
  for (const mapping of mappings) {
    for (const tag of mapping.tags) {
      const fixed: Record<string, unknown> = {
        device: mapping.device,
        name: tag.name,
        topic: tag.topic,
        address: tag.address,
        type: tag.type,
        writable: tag.writable,
      };
      Object.assign(fixed, setFields(tag, ['unit', 'min', 'max', 'description']));
      entries.push({
        device: mapping.device,
        name: tag.name,
        prefix: JSON.stringify(fixed).slice(0, -1),
        haystack: [tag.name, tag.topic, tag.address, mapping.device, tag.description ?? '']
          .join('\n')
          .toLowerCase(),
      });
    }
  }
  catalogs.set(mappings, entries);
  return entries;
}

/** The `{ "total", "items" }` answer as JSON text. */
export function tagListJson(
  mappings: readonly LoadedMapping[],
  latest: (device: string, tag: string) => TagSample | undefined,
  query: TagQuery,
): string {
  const parts: string[] = [];
  let total = 0;
  for (const entry of entriesOf(mappings)) {
    if (query.device !== undefined && entry.device !== query.device) continue;
    if (query.q !== '' && !entry.haystack.includes(query.q)) continue;
    total++;
    if (total <= query.offset || parts.length >= query.limit) continue;
    const sample = latest(entry.device, entry.name);
    if (!sample) {
      parts.push(`${entry.prefix}}`);
      continue;
    }
    parts.push(sampleJson(entry.prefix, sample));
  }
  return `{"total":${total},"items":[${parts.join(',')}]}`;
}
