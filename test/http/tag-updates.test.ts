// The values /api/events has yet to send (src/http/tag-updates.ts): the JSON written by hand is what
// JSON.stringify gives for the documented object, newest per tag, for mapped tags, tags a config no
// longer maps and after a reload.
import { describe, expect, it } from 'vitest';
import type { TagSample, TagValue } from '../../drivers/types.js';
import type { LoadedMapping } from '../../src/config/types.js';
import { PendingTagUpdates } from '../../src/http/tag-updates.js';
import { mappedTag, mapping } from '../mapping/fixtures.js';

const good = (tag: string, value: TagValue, ts = 1000): TagSample => ({
  tag,
  value,
  quality: 'good',
  ts,
});

/** The documented event entry, serialised the generic way. */
const generic = (device: string, s: TagSample): unknown => ({
  device,
  name: s.tag,
  value: s.value,
  quality: s.quality,
  ...(s.quality !== 'good' && { reason: s.reason }),
  ts: s.ts,
});

describe('pending tag updates', () => {
  it('writes the same JSON as JSON.stringify, for every kind of value and quality', () => {
    const names = ['temperature', 'say "hi"', 'ünïcode\u2028line', 'flag', 'text', 'nan', 'lost', 'maybe'];
    const config: LoadedMapping[] = [mapping(names.map((n) => mappedTag(n)))];
    const pending = new PendingTagUpdates(() => config);
    const batch: TagSample[] = [
      good('temperature', 21.5),
      good('say "hi"', -3),
      good('ünïcode\u2028line', 1e21),
      good('flag', true),
      good('text', 'a "quoted"\nline'),
      good('nan', Number.NaN),
      { tag: 'lost', value: null, quality: 'bad', reason: 'timeout after 1000 ms', ts: 5 },
      { tag: 'maybe', value: 7, quality: 'uncertain', reason: 'stale "value"', ts: 6 },
    ];
    pending.add('press1', batch);
    expect(pending.size).toBe(batch.length);
    const json = pending.take();
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(batch.map((s) => generic('press1', s)))));
    expect(json).toBe(JSON.stringify(batch.map((s) => generic('press1', s))));
    expect(pending.size).toBe(0);
    expect(pending.take()).toBe('[]');
  });

  it('keeps the newest value of each tag, in the order tags first changed', () => {
    const pending = new PendingTagUpdates(() => [mapping([mappedTag('a'), mappedTag('b')])]);
    pending.add('press1', [good('a', 1, 1), good('b', 2, 2)]);
    pending.add('press1', [good('a', 3, 3)]);
    expect(JSON.parse(pending.take())).toEqual([
      generic('press1', good('a', 3, 3)),
      generic('press1', good('b', 2, 2)),
    ]);
  });

  it('sends values of tags and devices the config does not map, and follows a reload', () => {
    let config = [mapping([mappedTag('a')])];
    const pending = new PendingTagUpdates(() => config);
    pending.add('press1', [good('gone', 1)]);
    pending.add('other', [good('a', 2)]);
    expect(JSON.parse(pending.take())).toEqual([
      generic('press1', good('gone', 1)),
      generic('other', good('a', 2)),
    ]);
    config = [mapping([mappedTag('a'), mappedTag('new')])];
    pending.add('press1', [good('new', 4), good('gone', 5)]);
    pending.add('press1', [good('new', 6)]);
    expect(JSON.parse(pending.take())).toEqual([
      generic('press1', good('new', 6)),
      generic('press1', good('gone', 5)),
    ]);
  });

  it('takes at most so many values at a time, device by device, and keeps the rest', () => {
    const pending = new PendingTagUpdates(() => [mapping([mappedTag('a'), mappedTag('b'), mappedTag('c')])]);
    pending.add('press1', [good('a', 1), good('b', 2)]);
    pending.add('oven1', [good('x', 3)]);
    pending.add('press1', [good('c', 4)]);
    expect(pending.size).toBe(4);
    expect(JSON.parse(pending.take(3))).toEqual([
      generic('press1', good('a', 1)),
      generic('press1', good('b', 2)),
      generic('press1', good('c', 4)),
    ]);
    expect(pending.size).toBe(1);
    pending.add('press1', [good('a', 5)]);
    expect(JSON.parse(pending.take(3))).toEqual([
      generic('press1', good('a', 5)),
      generic('oven1', good('x', 3)),
    ]);
    expect(pending.size).toBe(0);
  });

  it('adds every mapped tag that has a latest value', () => {
    const config = [
      mapping([mappedTag('a'), mappedTag('b')]),
      mapping([mappedTag('c')], { device: 'oven1', topic: 'acme/oven1' }),
    ];
    const pending = new PendingTagUpdates(() => config);
    const latest = new Map([
      ['press1/a', good('a', 1)],
      ['oven1/c', good('c', 3)],
    ]);
    pending.addAll((device, tag) => latest.get(`${device}/${tag}`));
    expect(JSON.parse(pending.take())).toEqual([
      generic('press1', good('a', 1)),
      generic('oven1', good('c', 3)),
    ]);
  });
});
