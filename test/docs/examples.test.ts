// Every command and example of README.md, docs/*.md and drivers/*/README.md is run or checked, so
// the docs cannot drift from the product. JSON examples are loaded as configs, mappings or messages
// (check-json.ts); shell examples run in order, one sandbox per file (session.ts). A block that
// cannot run here says so with `<!-- not-tested: reason -->` above it (see docs/ARCHITECTURE.md,
// "Docs examples").
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/demo-config.js';
import { jsonExampleProblems } from './check-json.js';
import { docFiles, extractBlocks, jsonValues, type DocBlock } from './extract.js';
import { DocSession } from './session.js';

const files = docFiles(repoRoot).map((file) => ({ file, blocks: extractBlocks(repoRoot, file) }));
const where = (b: DocBlock): string => `${b.file}:${b.line}`;

describe('docs: JSON examples', () => {
  const blocks = files.flatMap((f) => f.blocks).filter((b) => b.kind === 'json' && !b.notTested);
  it.each(blocks.map((b) => [where(b), b] as const))('%s', async (_name, block) => {
    const values = jsonValues(block.text);
    expect(values, `${where(block)}: not JSON (nor members or lines of it)`).toBeDefined();
    const problems: string[] = [];
    for (const value of values!) problems.push(...(await jsonExampleProblems(value)));
    expect(problems, where(block)).toEqual([]);
  });
});

describe('docs: the JSON checker itself', () => {
  it('catches wrong examples of every kind it reads', async () => {
    const wrong: unknown[] = [
      { transport: { type: 'tcp', host: '127.0.0.1', port: 70000 } }, // a device fragment
      { listeners: [{ protocol: 'mqtt', host: '127.0.0.1', port: 'x' }] }, // a broker fragment
      { out: [{ filter: 'acme/#', qos: 3 }] }, // a bridge fragment
      { name: 'lamp', address: 'coil:1', type: 'float32' }, // a tag (coil typed float32)
      { device: 'press1', topic: 'a/{nowhere', tags: [] }, // a mapping
      { bridges: [{ name: 'plant' }] }, // config blocks
      { value: 1, ts: 1, quality: 'fine' }, // a message
    ];
    for (const value of wrong)
      expect(await jsonExampleProblems(value), JSON.stringify(value)).not.toEqual([]);
  });
});

describe('docs: every not-tested marker says why', () => {
  it('has a reason on each', () => {
    const bare = files
      .flatMap((f) => f.blocks)
      .filter((b) => b.notTested !== undefined && b.notTested.length < 3)
      .map(where);
    expect(bare).toEqual([]);
  });
});

describe('docs: shell examples, in order, one sandbox per file', () => {
  const withCommands = files.filter((f) => f.blocks.some((b) => b.kind === 'sh' && !b.notTested));
  it.each(withCommands.map((f) => [f.file, f.blocks] as const))(
    '%s',
    async (_file, blocks) => {
      const session = await DocSession.open(repoRoot);
      const failures: string[] = [];
      try {
        for (const block of blocks) {
          if (block.notTested) continue;
          if (block.kind === 'json') {
            if (block.apply) session.apply(block.apply, Object.assign({}, ...jsonValues(block.text)!));
            continue;
          }
          if (block.needsDemo) {
            const demo = await session.ensureDemo();
            if (demo && !demo.ok) failures.push(`${where(block)}: the demo did not start: ${demo.why}`);
          }
          const result = await session.run(block.text);
          if (!result.ok)
            failures.push(
              `${where(block)}: ${result.why}\n$ ${block.text}\n--- stdout\n${result.stdout.slice(-2000)}\n--- stderr\n${result.stderr.slice(-2000)}`,
            );
        }
      } finally {
        await session.close();
      }
      expect(failures).toEqual([]);
    },
    600_000,
  );
});
