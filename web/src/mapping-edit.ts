// Changes to a mapping file's text made by the console (tags from a browse or a CSV import):
// parsed, tags appended under names not yet taken, written back with two-space indentation.

export type EditResult = { ok: true; content: string; added: string[] } | { ok: false; error: string };

export interface NewTag {
  name: string;
  address: string;
  [key: string]: unknown;
}

const NAME_BAD = /[/#+\s]+/g;

export function tagNameFrom(text: string): string {
  return text.replace(NAME_BAD, '_').replace(/^\$/, '_').slice(0, 120) || 'tag';
}

export function addTags(content: string, tags: readonly NewTag[]): EditResult {
  let mapping: unknown;
  try {
    mapping = JSON.parse(content);
  } catch (err) {
    return { ok: false, error: `the file is not valid JSON yet (${(err as Error).message}); fix it first` };
  }
  if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping))
    return { ok: false, error: 'the file is not a mapping object' };
  const m = mapping as { tags?: unknown };
  if (m.tags === undefined) m.tags = [];
  if (!Array.isArray(m.tags)) return { ok: false, error: '"tags" is not a list' };
  const list = m.tags as Array<Record<string, unknown>>;
  const taken = new Set(list.map((t) => String(t?.name)));
  const addresses = new Set(list.map((t) => String(t?.address)));
  const added: string[] = [];
  for (const tag of tags) {
    if (addresses.has(tag.address)) continue;
    let name = tag.name;
    for (let i = 2; taken.has(name); i++) name = `${tag.name}_${i}`;
    taken.add(name);
    addresses.add(tag.address);
    list.push({ ...tag, name });
    added.push(name);
  }
  return { ok: true, content: JSON.stringify(mapping, null, 2) + '\n', added };
}

/** The tags of a mapping file's text, or undefined when it does not parse. */
export function tagsOf(content: string): NewTag[] | undefined {
  try {
    const parsed = JSON.parse(content) as { tags?: unknown };
    return Array.isArray(parsed.tags) ? (parsed.tags as NewTag[]) : undefined;
  } catch {
    return undefined;
  }
}
