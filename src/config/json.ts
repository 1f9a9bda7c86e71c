// Reading a JSON file with errors that point where the slip is: the line and column of a syntax
// error (a trailing comma where it stands, not at the end of the file), and every key given twice in
// one object, with both places (JSON.parse would silently keep the last one).
import { readFile } from 'node:fs/promises';
import {
  getLocation,
  parse as parseTolerant,
  visit,
  ParseErrorCode,
  type ParseError,
  type JSONPath,
} from 'jsonc-parser';
import { pointerOf, type ConfigProblem } from './problems.js';

export type ReadResult =
  | { ok: true; value: unknown; text: string; duplicates: ConfigProblem[] }
  | { ok: false; problem: ConfigProblem };

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

const at = (text: string, offset: number): string => {
  const { line, column } = lineColumn(text, offset);
  return `line ${line}, column ${column}`;
};

/** The offset of the last character before `offset` that is not white space, or -1. */
function previousToken(text: string, offset: number): number {
  let i = offset - 1;
  while (i >= 0 && /\s/.test(text[i]!)) i--;
  return i;
}

/** What a person needs to hear for one syntax error, and the offset it belongs at. */
function explain(text: string, error: ParseError): { offset: number; what: string } {
  const found = text.slice(error.offset, error.offset + Math.max(1, error.length));
  const before = previousToken(text, error.offset);
  const closing = found === '}' || found === ']';
  switch (error.error) {
    case ParseErrorCode.ValueExpected:
    case ParseErrorCode.PropertyNameExpected:
      if (closing && text[before] === ',')
        return {
          offset: before,
          what: `trailing comma before "${found}" (JSON allows no comma after the last item: remove it)`,
        };
      if (error.offset >= text.length) return { offset: error.offset, what: 'unexpected end of file' };
      return error.error === ParseErrorCode.PropertyNameExpected
        ? { offset: error.offset, what: `expected a key in double quotes, found ${quoted(found)}` }
        : { offset: error.offset, what: `expected a value, found ${quoted(found)}` };
    case ParseErrorCode.CommaExpected:
      // Said where the comma belongs: just after the item before.
      return closing
        ? { offset: error.offset, what: `expected "," or the closing bracket, found ${quoted(found)}` }
        : { offset: before + 1, what: `missing "," before ${quoted(found)} at ${at(text, error.offset)}` };
    case ParseErrorCode.ColonExpected:
      return { offset: error.offset, what: `expected ":" after the key, found ${quoted(found)}` };
    case ParseErrorCode.CloseBraceExpected:
    case ParseErrorCode.CloseBracketExpected: {
      const want = error.error === ParseErrorCode.CloseBraceExpected ? '}' : ']';
      return error.offset >= text.length
        ? { offset: error.offset, what: `unexpected end of file: a "${want}" is missing` }
        : { offset: error.offset, what: `expected "${want}" or ",", found ${quoted(found)}` };
    }
    case ParseErrorCode.EndOfFileExpected:
      return { offset: error.offset, what: `unexpected ${quoted(found)} after the end of the document` };
    case ParseErrorCode.InvalidCommentToken:
    case ParseErrorCode.UnexpectedEndOfComment:
      return { offset: error.offset, what: 'comments are not allowed in JSON' };
    case ParseErrorCode.UnexpectedEndOfString:
      return { offset: error.offset, what: 'a string is not closed (a missing double quote?)' };
    case ParseErrorCode.InvalidCharacter:
      return {
        offset: error.offset,
        what: 'a control character inside a string (a raw tab or line break? write \\t or \\n)',
      };
    case ParseErrorCode.InvalidEscapeCharacter:
    case ParseErrorCode.InvalidUnicode:
      return { offset: error.offset, what: `invalid escape ${quoted(found)} in a string` };
    case ParseErrorCode.InvalidNumberFormat:
    case ParseErrorCode.UnexpectedEndOfNumber:
      return { offset: error.offset, what: `invalid number ${quoted(found)}` };
    case ParseErrorCode.InvalidSymbol:
    default:
      return {
        offset: error.offset,
        what: /^'/.test(found)
          ? 'strings and keys take double quotes, not single ones'
          : `unexpected ${quoted(found)}`,
      };
  }
}

function quoted(token: string): string {
  if (token === '') return 'the end of the file';
  return token.startsWith('"') ? token : JSON.stringify(token);
}

/** Where in the document an offset is, as a JSON pointer ("/" at the top). */
function pointerAt(text: string, offset: number): string {
  const path: JSONPath = getLocation(text, offset).path;
  // A path ending in "" means "a key not yet written": the object around it.
  const keys = path.filter((k) => k !== '');
  return pointerOf(...keys);
}

/** Every key given twice in one object, as one problem naming both places. */
function duplicateKeys(text: string, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const objects: Array<Map<string, number>> = [];
  visit(text, {
    onObjectBegin: () => {
      objects.push(new Map());
    },
    onObjectEnd: () => {
      objects.pop();
    },
    onObjectProperty: (key, offset, _length, _line, _column, pathSupplier) => {
      const seen = objects.at(-1);
      if (!seen) return;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, offset);
        return;
      }
      problems.push({
        file,
        pointer: pointerOf(...pathSupplier(), key),
        message: `key "${key}" is given twice in one object, at ${at(text, first)} and at ${at(text, offset)}; JSON keeps only the last: remove one`,
      });
    },
  });
  return problems;
}

export function parseJson(text: string, file: string): ReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's own message gives no usable position for many slips; a tolerant parser does.
    const errors: ParseError[] = [];
    parseTolerant(text, errors, { allowTrailingComma: false, disallowComments: true });
    const first = errors[0];
    const { offset, what } = first
      ? explain(text, first)
      : { offset: text.length, what: 'not a JSON document' };
    return {
      ok: false,
      problem: {
        file,
        pointer: pointerAt(text, offset),
        message: `invalid JSON at ${at(text, offset)}: ${what}`,
      },
    };
  }
  return { ok: true, value, text, duplicates: duplicateKeys(text, file) };
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
