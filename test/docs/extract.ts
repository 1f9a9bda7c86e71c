// The examples of the docs, as the docs test reads them: every fenced block of README.md, docs/*.md
// and drivers/*/README.md whose info string is `sh` (commands) or `json` (examples), with the
// markers written on the lines just above it:
//   <!-- not-tested: reason -->   the block is not run or checked (say why)
//   <!-- apply: FILE -->          a JSON block the reader adds to FILE (its keys merged in): the
//                                 test applies it to its copy before the next block runs
//   <!-- docs-test: demo -->      the block needs the demo running (`npm start`); the test starts it
//   <!-- docs-test: commands not-tested: reason -->   anywhere in a file: none of its sh blocks run
// Blocks without an info string are output or prose and are not run.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type BlockKind = 'sh' | 'json';

export interface DocBlock {
  /** Path relative to the repository, e.g. `docs/CONFIG.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  kind: BlockKind;
  text: string;
  notTested?: string;
  apply?: string;
  needsDemo: boolean;
}

const KINDS: Record<string, BlockKind> = { sh: 'sh', bash: 'sh', shell: 'sh', json: 'json' };

/** The Markdown files whose examples are checked: README.md, docs/*.md, drivers/<driver>/README.md. */
export function docFiles(root: string): string[] {
  const files = ['README.md'];
  const inDir = (dir: string, pick: (name: string) => boolean): string[] => {
    try {
      return readdirSync(path.join(root, dir))
        .filter(pick)
        .sort()
        .map((name) => path.join(dir, name));
    } catch {
      return [];
    }
  };
  files.push(...inDir('docs', (n) => n.endsWith('.md')));
  for (const driver of inDir('drivers', () => true)) files.push(...inDir(driver, (n) => n === 'README.md'));
  return files;
}

export function extractBlocks(root: string, file: string): DocBlock[] {
  const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
  // A file may opt its commands out as a whole: `<!-- docs-test: commands not-tested: reason -->`.
  const fileMarker = lines
    .map((l) => /^<!--\s*docs-test: commands not-tested:\s*(.*?)\s*-->$/.exec(l.trim()))
    .find(Boolean);
  const blocks: DocBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) {
      i++;
      continue;
    }
    const fence = open[2]!;
    const info = open[3]!.toLowerCase();
    const start = i;
    const body: string[] = [];
    i++;
    while (i < lines.length && !lines[i]!.trimStart().startsWith(fence)) body.push(lines[i++]!);
    i++;
    const kind = KINDS[info];
    if (!kind) continue;
    // Markers: the HTML comments on the lines just above the fence (blank lines between are fine).
    const markers: string[] = [];
    for (let j = start - 1; j >= 0; j--) {
      const text = lines[j]!.trim();
      if (text === '') continue;
      const comment = /^<!--\s*(.*?)\s*-->$/.exec(text);
      if (!comment) break;
      markers.push(comment[1]!);
    }
    const marker = (name: string): string | undefined => {
      const found = markers.find((m) => m.startsWith(`${name}:`));
      return found?.slice(name.length + 1).trim();
    };
    const block: DocBlock = {
      file,
      line: start + 1,
      kind,
      text: body.join('\n'),
      needsDemo: marker('docs-test') === 'demo',
    };
    const notTested = marker('not-tested') ?? (kind === 'sh' && fileMarker ? fileMarker[1] : undefined);
    if (notTested !== undefined) block.notTested = notTested;
    const apply = marker('apply');
    if (apply !== undefined) block.apply = apply;
    blocks.push(block);
  }
  return blocks;
}

/**
 * The JSON values of a block: one document, the members of an object shown without its braces
 * (`"bridges": [...]`), several documents one after the other, or one fragment per line.
 */
export function jsonValues(text: string): unknown[] | undefined {
  const attempts: Array<() => unknown[]> = [
    () => [JSON.parse(text)],
    () => [JSON.parse(`{${text}}`)],
    () => JSON.parse(`[${text.replace(/([}\]])\s*\n\s*([{[])/g, '$1,$2')}]`) as unknown[],
    () =>
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (/^\s*"/.test(l) ? JSON.parse(`{${l.replace(/,\s*$/, '')}}`) : JSON.parse(l)) as unknown),
  ];
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch {
      // the next reading
    }
  }
  return undefined;
}
