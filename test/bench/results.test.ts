// The bench results file: record merges one bench's figures without losing the others', a broken
// file is kept aside, and compare reports what changed between two runs (also through its CLI).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compare, formatChanges, parseResults, readResults, record } from '../../bench/results.js';

const run = promisify(execFile);
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagwire-results-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('record', () => {
  it('merges benches into one file and replaces a bench recorded again', () => {
    const file = path.join(dir, 'nested', 'latest.json');
    record('opcua', { '10000x100': { rssMb: 233, cpuPct: 4.6 } }, file);
    record('broker', { msgPerSec: 50000 }, file);
    record('opcua', { '10000x100': { rssMb: 160, cpuPct: 4.5 } }, file);
    const results = readResults(file);
    expect(Object.keys(results.benches).sort()).toEqual(['broker', 'opcua']);
    expect(results.benches.opcua!.figures).toEqual({ '10000x100': { rssMb: 160, cpuPct: 4.5 } });
    expect(results.benches.broker!.figures).toEqual({ msgPerSec: 50000 });
    expect(results.benches.opcua!.node).toBe(process.version);
    expect(typeof results.benches.opcua!.load).toBe('number');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['latest.json']);
  });

  it('keeps a broken file aside rather than overwriting it', () => {
    const file = path.join(dir, 'latest.json');
    fs.writeFileSync(file, '{"version": 1, "benches": {');
    record('http', { p99Ms: 14.7 }, file);
    expect(fs.readFileSync(`${file}.bad`, 'utf8')).toBe('{"version": 1, "benches": {');
    expect(readResults(file).benches.http!.figures).toEqual({ p99Ms: 14.7 });
  });

  it('refuses figures that are not numbers', () => {
    const file = path.join(dir, 'latest.json');
    expect(() => record('x', { a: 'fast' } as never, file)).toThrow(/figures must be numbers/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('parseResults', () => {
  it('says what is wrong and where', () => {
    expect(() => parseResults('nope', 'a.json')).toThrow(/^a\.json: not JSON/);
    expect(() => parseResults('{"benches": {}}', 'b.json')).toThrow(/^b\.json: not a bench results file/);
    expect(() => parseResults('{"version": 1, "benches": {"x": {"figures": {"a": "1"}}}}', 'c.json')).toThrow(
      /c\.json: bench "x" has no figures object of numbers/,
    );
  });
});

describe('compare', () => {
  const file = (benches: Record<string, object>) =>
    parseResults(
      JSON.stringify({
        version: 1,
        benches: Object.fromEntries(
          Object.entries(benches).map(([k, figures]) => [
            k,
            { at: '', node: '', cores: 2, load: 0, figures },
          ]),
        ),
      }),
      'test',
    );

  it('lists changed, added and removed figures with their relative change', () => {
    const before = file({ opcua: { big: { rssMb: 250, cpu: 4 } }, gone: { x: 1 } });
    const after = file({ opcua: { big: { rssMb: 160, cpu: 4 }, idle: { rssMb: 120 } } });
    const changes = compare(before, after);
    expect(changes).toEqual([
      { key: 'gone.x', old: 1, new: undefined },
      { key: 'opcua.big.rssMb', old: 250, new: 160, ratio: 160 / 250 - 1 },
      { key: 'opcua.idle.rssMb', old: undefined, new: 120 },
    ]);
    const text = formatChanges(changes);
    expect(text).toMatch(/opcua\.big\.rssMb\s+250 -> 160\s+-36\.0%/);
    expect(text).toMatch(/gone\.x\s+1 -> -\s+removed/);
    expect(text).toMatch(/opcua\.idle\.rssMb\s+- -> 120\s+added/);
  });

  it('hides changes below the threshold', () => {
    const changes = compare(file({ a: { x: 100, y: 100 } }), file({ a: { x: 103, y: 120 } }), 0.05);
    expect(changes.map((c) => c.key)).toEqual(['a.y']);
    expect(formatChanges([])).toBe('no figure changed');
  });

  it('runs as a CLI on two files, and explains a bad file', async () => {
    const a = path.join(dir, 'a.json');
    const b = path.join(dir, 'b.json');
    record('web', { frameP95Ms: 16.8 }, a);
    record('web', { frameP95Ms: 33.6 }, b);
    const tsx = path.resolve('node_modules/.bin/tsx');
    const { stdout } = await run(tsx, ['bench/compare.ts', a, b]);
    expect(stdout).toMatch(/web\.frameP95Ms\s+16\.8 -> 33\.6\s+\+100\.0%/);
    fs.writeFileSync(b, '[]');
    const failed = await run(tsx, ['bench/compare.ts', a, b]).catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain(`${b}: not a bench results file`);
  });
});
