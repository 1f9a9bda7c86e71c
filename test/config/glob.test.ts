import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { globFiles } from '../../src/config/glob.js';

// root/conf is the config's folder; the mappings live beside it, as with a config in /etc and
// mappings elsewhere. (tinyglobby crawling from conf itself, as before, gets the brace pattern
// spanning two folders wrong: it finds c.json only.)
const root = mkdtempSync(path.join(tmpdir(), 'tagwire-glob-'));
const conf = path.join(root, 'conf');
for (const dir of ['conf', 'maps/sub', 'maps/{odd}']) mkdirSync(path.join(root, dir), { recursive: true });
for (const file of ['conf/local.json', 'maps/a.json', 'maps/b.txt', 'maps/sub/c.json', 'maps/{odd}/d.json'])
  writeFileSync(path.join(root, file), '{}');

const at = (...files: string[]): string[] => files.map((f) => path.join(root, f));

describe('globFiles', () => {
  const cases: Array<[pattern: string, from: string, expected: string[]]> = [
    ['*.json', conf, at('conf/local.json')],
    ['../maps/*.json', conf, at('maps/a.json')],
    [`${root}/maps/*.json`, conf, at('maps/a.json')],
    [`${root}/maps/**/*.json`, conf, at('maps/a.json', 'maps/sub/c.json', 'maps/{odd}/d.json')],
    [`${root}/maps/a.json`, conf, at('maps/a.json')],
    [`${root}/maps/sub`, conf, at('maps/sub/c.json')],
    ['maps/{sub,other}/*.json', root, at('maps/sub/c.json')],
    [`${root}/{maps/sub,conf}/*.json`, conf, at('conf/local.json', 'maps/sub/c.json')],
    [`${root}/maps/\\{odd\\}/*.json`, conf, at('maps/{odd}/d.json')],
    ['../maps/missing/*.json', conf, []],
  ];
  it.each(cases)('%s from %s', async (pattern, from, expected) => {
    const found = (await globFiles(pattern, from)).map((f) => path.normalize(f)).sort();
    expect(found).toEqual([...expected].sort());
  });
});
