// Reading a JSON file with errors that point at the line and column, not a byte offset.
import { readFile } from 'node:fs/promises';
import type { ConfigProblem } from './problems.js';

export type ReadResult = { ok: true; value: unknown; text: string } | { ok: false; problem: ConfigProblem };

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export function parseJson(text: string, file: string): ReadResult {
  try {
    return { ok: true, value: JSON.parse(text), text };
  } catch (err) {
    const message = (err as Error).message;
    // V8 says "... in JSON at position 42" for most errors, nothing for an early end of input.
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : text.length;
    const { line, column } = lineColumn(text, offset);
    const atEnd = offset >= text.trimEnd().length;
    const what = atEnd ? 'unexpected end of file' : message.replace(/\s*in JSON at position \d+.*$/s, '');
    return {
      ok: false,
      problem: { file, pointer: '/', message: `invalid JSON at line ${line}, column ${column}: ${what}` },
    };
  }
}

/** Reads and parses a JSON file; a missing or unreadable file is a problem, not an exception. */
export async function readJsonFile(file: string, shownAs: string = file): Promise<ReadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file not found' : `cannot read the file: ${(err as Error).message}`;
    return { ok: false, problem: { file: shownAs, pointer: '/', message } };
  }
  return parseJson(text.replace(/^\uFEFF/, ''), shownAs);
}
