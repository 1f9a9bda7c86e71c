// CommandIndex: what a command topic addresses. Writable and rate-limited tags have their entry
// (value check, rate window) from the start; the others get one when a command names them.
import { describe, expect, it } from 'vitest';
import { mappedTag, mapping } from './fixtures.js';
import { CommandIndex, commandTag } from '../../src/mapping/command-index.js';

const tag = mappedTag;

describe('CommandIndex', () => {
  const index = new CommandIndex([
    mapping([tag('speed', { writable: true, min: 0, max: 100 }), tag('temp')]),
    // A tag topic of its own (the mapping's tagTopic), not under the device topic.
    mapping([tag('level', { topic: 'site/tank4/level' })], { device: 'tank4', topic: 'acme/tank4' }),
    // A device whose topic is the same as a tag's topic of another device.
    mapping([tag('x', { topic: 'acme/press1/temp/x' })], { device: 'sub', topic: 'acme/press1/temp' }),
  ]);

  it('resolves tags under their device topic, writable or not', () => {
    const speed = index.resolve('acme/press1/speed/set');
    expect(speed).toMatchObject({ kind: 'set', tagName: 'speed', target: { device: 'press1' } });
    expect(speed?.kind === 'set' && speed.target?.check?.(500)).toMatch(/500/);
    const temp = index.resolve('acme/press1/temp/get');
    expect(temp).toMatchObject({
      kind: 'get',
      tagName: 'temp',
      target: { device: 'press1', tag: { name: 'temp' } },
    });
    expect(temp?.kind === 'get' && temp.target?.check).toBeUndefined();
  });

  it('resolves a tag with a topic of its own, a device set, and an unknown tag under a device', () => {
    expect(index.resolve('site/tank4/level/get')).toMatchObject({
      kind: 'get',
      tagName: 'level',
      target: { device: 'tank4', tag: { topic: 'site/tank4/level' } },
    });
    expect(index.resolve('acme/tank4/set')).toMatchObject({
      kind: 'device-set',
      device: { device: 'tank4' },
    });
    const unknown = index.resolve('acme/press1/nope/set');
    expect(unknown).toMatchObject({ kind: 'set', tagName: 'nope' });
    expect(unknown?.kind === 'set' && unknown.target).toBeUndefined();
    expect(index.resolve('acme/elsewhere/set')).toBeUndefined();
    expect(index.resolve('acme/press1/speed/other')).toBeUndefined();
  });

  it('a tag topic comes before a device whose topic is the same', () => {
    expect(index.resolve('acme/press1/temp/set')).toMatchObject({ kind: 'set', tagName: 'temp' });
  });

  it('keeps entries only for writable or rate-limited tags, and keeps them across a reload', () => {
    const before = index.resolve('acme/press1/speed/set');
    const device = before?.kind === 'set' ? before.device : undefined;
    expect([...device!.commands.keys()]).toEqual(['speed']);
    expect(commandTag(device!, 'temp')).toMatchObject({ device: 'press1', tag: { name: 'temp' } });
    expect(commandTag(device!, 'nope')).toBeUndefined();
    const reloaded = new CommandIndex(
      [mapping([tag('speed', { writable: true, min: 0, max: 100 }), tag('temp')])],
      index,
    );
    const after = reloaded.resolve('acme/press1/speed/set');
    expect(after?.kind === 'set' && after.target).toBe(before?.kind === 'set' && before.target);
  });
});
