// Which characters a string encoding can hold, so that a write never turns a character the device
// cannot store into another one (Latin-1 "€" is not byte 0xAC, "¬").
export type TextEncoding = 'ascii' | 'latin1' | 'utf8';

const HIGHEST: Record<TextEncoding, number> = { ascii: 0x7f, latin1: 0xff, utf8: 0x10ffff };
const NAME: Record<TextEncoding, string> = {
  ascii: 'ascii (U+0000 to U+007F)',
  latin1: 'latin1 (ISO 8859-1, U+0000 to U+00FF)',
  utf8: 'utf8',
};

const hex = (code: number): string => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why `text` cannot be written in `encoding`, naming the first character that does not fit and
 * where it is (counted in characters from 1), or undefined when every character fits. An unpaired
 * UTF-16 surrogate (possible in JSON: "\ud800") is no character at all, in any encoding.
 */
export function encodingProblem(text: string, encoding: TextEncoding): string | undefined {
  let position = 0;
  for (let i = 0; i < text.length; i++) {
    position++;
    const code = text.codePointAt(i) as number;
    if (code > 0xffff) i++;
    if (code >= 0xd800 && code <= 0xdfff)
      return `character ${position} is an unpaired surrogate (${hex(code)}), not text: it cannot be written in ${NAME[encoding]}`;
    if (code > HIGHEST[encoding])
      return `character ${position}, ${JSON.stringify(String.fromCodePoint(code))} (${hex(code)}), cannot be written in ${NAME[encoding]}`;
  }
  return undefined;
}
