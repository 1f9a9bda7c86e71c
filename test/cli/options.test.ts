// parseCommand: the one --help and positional-argument handling of the CLI's commands.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCommand } from '../../src/cli/options.js';

let stdout: string;
let stderr: string;

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

const spec = {
  name: 'copy',
  usage: 'usage: tagwire copy FILE [--force]',
  options: { force: { type: 'boolean' }, out: { type: 'string', short: 'o' } },
  positionals: (given: readonly string[]) => (given.length === 1 ? undefined : 'give one FILE'),
} as const;

describe('parseCommand', () => {
  it('returns the options and positionals', () => {
    const parsed = parseCommand(['a.txt', '--force', '-o', 'b.txt'], spec);
    expect(parsed).toMatchObject({ values: { force: true, out: 'b.txt' }, positionals: ['a.txt'] });
    expect(stdout + stderr).toBe('');
  });

  it('prints the usage for -h and --help and finishes with 0, whatever else is given', () => {
    expect(parseCommand(['-h'], spec)).toBe(0);
    expect(parseCommand(['--help', 'x', 'y'], spec)).toBe(0);
    expect(stdout).toBe(`${spec.usage}\n${spec.usage}\n`);
  });

  it('refuses positionals that do not fit with the problem and the usage, exit 2 or as asked', () => {
    expect(parseCommand([], spec)).toBe(2);
    expect(stderr).toBe(`tagwire copy: give one FILE\n${spec.usage}\n`);
    expect(parseCommand(['a', 'b'], { ...spec, misuseExit: 1 })).toBe(1);
  });

  it('refuses any positional when the command takes none, and names a bad option', () => {
    const { positionals: _, ...none } = spec;
    expect(() => parseCommand(['a'], none)).toThrow(/^copy: .*'a'/);
    expect(() => parseCommand(['a', '--forse'], spec)).toThrow(/^copy: Unknown option '--forse'/);
  });
});
