// The console's pure helpers: locating a validation problem's pointer in the editor's text, adding
// picked or imported tags to a mapping file, and the bounded trend buffers.
import { describe, expect, it } from 'vitest';
import { History } from '../../web/src/history.js';
import { locatePointer } from '../../web/src/json-locate.js';
import { addTags } from '../../web/src/mapping-edit.js';

const TEXT = `{
  "device": "press1",
  "tags": [
    { "name": "a", "address": "hr:1" },
    {
      "name": "b/c",
      "max": "high"
    }
  ]
}`;

describe('locatePointer', () => {
  it('finds members at their key and elements at their start', () => {
    expect(locatePointer(TEXT, '/device')).toEqual({ line: 2, column: 3 });
    expect(locatePointer(TEXT, '/tags/0')).toEqual({ line: 4, column: 5 });
    expect(locatePointer(TEXT, '/tags/0/address')).toEqual({ line: 4, column: 20 });
    expect(locatePointer(TEXT, '/tags/1/max')).toEqual({ line: 7, column: 7 });
  });

  it('gives nothing for the root, a missing member or text that is not JSON', () => {
    expect(locatePointer(TEXT, '/')).toBeUndefined();
    expect(locatePointer(TEXT, '/tags/5')).toBeUndefined();
    expect(locatePointer('{ "a": ', '/a')).toBeUndefined();
  });

  it('unescapes ~0 and ~1 in pointer segments', () => {
    expect(locatePointer('{"a/b": {"c~d": 1}}', '/a~1b/c~0d')).toEqual({ line: 1, column: 10 });
  });
});

describe('addTags', () => {
  it('appends tags under free names and skips addresses already mapped', () => {
    const result = addTags(TEXT.replace('"b/c"', '"b"'), [
      { name: 'a', address: 'hr:9' },
      { name: 'dup', address: 'hr:1' },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.added).toEqual(['a_2']);
    const tags = (JSON.parse(result.content) as { tags: Array<{ name: string; address: string }> }).tags;
    expect(tags.map((t) => t.name)).toEqual(['a', 'b', 'a_2']);
  });

  it('refuses text that is not a mapping, saying why', () => {
    const result = addTags('{ "tags": ', [{ name: 'x', address: 'hr:1' }]);
    expect(result).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
    expect(addTags('{"tags": 3}', [])).toEqual({ ok: false, error: '"tags" is not a list' });
  });
});

describe('History', () => {
  it('keeps the newest points of each tag within its budget, oldest first', () => {
    const history = new History();
    history.setBudget(20_000); // 50 points per tag by the budget, raised to the floor of 60
    for (let i = 0; i < 200; i++) history.add('k', 1000 * i, i);
    const [ts, values] = history.series('k');
    expect(values.length).toBe(60);
    expect(values[0]).toBe(140);
    expect(values.at(-1)).toBe(199);
    expect(ts.at(-1)).toBe(199);
  });

  it('ignores samples older than the last one', () => {
    const history = new History();
    history.add('k', 2000, 1);
    history.add('k', 1000, 2);
    expect(history.series('k')[1]).toEqual([1]);
  });
});
