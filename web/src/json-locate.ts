// Where a JSON pointer's value sits in a JSON text (line and column, 1-based), so a validation
// problem reported by pointer can be shown at its place in the editor. Members are located at
// their key, array elements at their first character.

type Location = { line: number; column: number };

class Scanner {
  i = 0;
  constructor(
    readonly text: string,
    readonly wanted: string,
  ) {}

  found?: number;

  ws(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i]!)) this.i++;
  }

  fail(): never {
    throw new Error('not JSON');
  }

  string(): string {
    if (this.text[this.i] !== '"') this.fail();
    const start = this.i++;
    while (this.i < this.text.length && this.text[this.i] !== '"')
      this.i += this.text[this.i] === '\\' ? 2 : 1;
    if (this.i >= this.text.length) this.fail();
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  value(path: string): void {
    this.ws();
    const c = this.text[this.i];
    if (c === '{') {
      this.i++;
      this.ws();
      if (this.text[this.i] === '}') return void this.i++;
      for (;;) {
        this.ws();
        const keyAt = this.i;
        const key = this.string();
        const child = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (child === this.wanted) this.found = keyAt;
        this.ws();
        if (this.text[this.i++] !== ':') this.fail();
        this.value(child);
        if (this.found !== undefined) return;
        this.ws();
        const next = this.text[this.i++];
        if (next === '}') return;
        if (next !== ',') this.fail();
      }
    }
    if (c === '[') {
      this.i++;
      this.ws();
      if (this.text[this.i] === ']') return void this.i++;
      for (let index = 0; ; index++) {
        this.ws();
        const child = `${path}/${index}`;
        if (child === this.wanted) this.found = this.i;
        this.value(child);
        if (this.found !== undefined) return;
        this.ws();
        const next = this.text[this.i++];
        if (next === ']') return;
        if (next !== ',') this.fail();
      }
    }
    if (c === '"') return void this.string();
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      this.text.slice(this.i, this.i + 64),
    );
    if (!m) this.fail();
    this.i += m[0].length;
  }
}

export function locatePointer(text: string, pointer: string): Location | undefined {
  if (pointer === '' || pointer === '/') return undefined;
  const scanner = new Scanner(text, pointer);
  try {
    scanner.value('');
  } catch {
    return undefined;
  }
  if (scanner.found === undefined) return undefined;
  const before = text.slice(0, scanner.found);
  const line = before.split('\n').length;
  return { line, column: scanner.found - before.lastIndexOf('\n') };
}
