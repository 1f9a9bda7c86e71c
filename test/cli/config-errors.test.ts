// Config problems are printed the same way by every command (one helper, src/cli/config-errors.ts):
// each problem on its own line in `tagwire validate`'s format, then the command's own closing line.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportConfigError } from '../../src/cli/config-errors.js';
import { ConfigError } from '../../src/config/load.js';
import { repoRoot } from '../helpers/demo-config.js';
import { run } from '../helpers/mosquitto.js';

const cli = path.join(repoRoot, 'src/cli.ts');
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');

describe('reportConfigError', () => {
  const problems = [
    { file: 'gateway.config.json', pointer: '/devices/0/port', message: 'must be integer, got "x"' },
    { file: 'mappings/a.json', pointer: '/tags/1', message: 'unknown key "adress"' },
  ];

  it('writes every problem, then the closing line made from them', () => {
    const lines: string[] = [];
    reportConfigError(
      new ConfigError(problems),
      (p) => `not started: ${p.length} problems`,
      (l) => lines.push(l),
    );
    expect(lines).toEqual([
      'gateway.config.json: /devices/0/port: must be integer, got "x"',
      'mappings/a.json: /tags/1: unknown key "adress"',
      'not started: 2 problems',
    ]);
  });

  it('writes no closing line when the command has none', () => {
    const lines: string[] = [];
    reportConfigError(new ConfigError(problems.slice(0, 1)), undefined, (l) => lines.push(l));
    expect(lines).toEqual(['gateway.config.json: /devices/0/port: must be integer, got "x"']);
  });

  it('rethrows anything that is not a config problem, writing nothing', () => {
    const lines: string[] = [];
    const fault = new Error('disk on fire');
    expect(() => reportConfigError(fault, 'closing', (l) => lines.push(l))).toThrow(fault);
    expect(lines).toEqual([]);
  });
});

describe('the commands that load the config', () => {
  let dir: string;
  let file: string;
  const problemLine = 'gateway.config.json: /gateway/logLevel: must be one of';

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tagwire-config-errors-'));
    file = path.join(dir, 'gateway.config.json');
    writeFileSync(
      file,
      JSON.stringify({ gateway: { id: 'g', logLevel: 'loud', dataDir: path.join(dir, 'data') } }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const FILE = '<config>';
  const commands: Array<[string, string[], string | undefined]> = [
    ['validate', ['validate', '-c', FILE], undefined],
    ['start', ['start', '-c', FILE], 'tagwire: not started: 1 problem in the configuration'],
    ['sim', ['sim', '-c', FILE], undefined],
    [
      'backup',
      ['backup', '/nonexistent-dir/b.tar.gz', '-c', FILE],
      'tagwire backup: the config has problems; nothing written',
    ],
    ['audit', ['audit', '-c', FILE], 'audit: fix the config or give --data DIR'],
    ['pki', ['pki', '-c', FILE, 'list'], undefined],
  ];

  it.each(commands)('%s prints the problem and its closing line, exit 1', async (_name, args, closing) => {
    const result = await run(tsx, [cli, ...args.map((a) => (a === FILE ? file : a))], 30_000);
    const lines = result.stderr.trimEnd().split('\n');
    expect(result.code).toBe(1);
    expect(lines[0]).toContain(problemLine);
    expect(lines.slice(1)).toEqual(closing ? [closing] : []);
  });
});
