// A plain-text JSON editor with line numbers; lines with problems are marked in the gutter, and a
// problem in the list jumps to its place. (A textarea keeps the bundle small and works everywhere.)
import { useImperativeHandle, useRef } from 'preact/hooks';
import type { Ref } from 'preact';
import type { Problem } from '../api';

/** Pixels per line; the same in styles.css (.editor). */
const LINE_HEIGHT = 20;

export interface EditorHandle {
  goTo(line: number, column?: number): void;
}

interface Props {
  value: string;
  onInput: (value: string) => void;
  problems: Problem[];
  label: string;
  handle: Ref<EditorHandle>;
}

export function Editor({ value, onInput, problems, label, handle }: Props) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const escaped = useRef(false);
  const lines = value.split('\n').length;
  const bad = new Map<number, string>();
  for (const p of problems) if (p.line !== undefined) bad.set(p.line, `${p.pointer}: ${p.message}`);

  useImperativeHandle(handle, () => ({
    goTo(line: number, column = 1) {
      const el = area.current;
      if (!el) return;
      const text = el.value;
      let offset = 0;
      for (let l = 1; l < line && offset >= 0; l++) offset = text.indexOf('\n', offset) + 1;
      const end = text.indexOf('\n', offset);
      el.focus();
      el.setSelectionRange(offset + Math.max(0, column - 1), end < 0 ? text.length : end);
      el.scrollTop = Math.max(0, (line - 4) * LINE_HEIGHT);
    },
  }));

  return (
    <div class="editor">
      <div class="gutter" ref={gutter} aria-hidden="true">
        {/* One text block for the numbers: a mapping of 10,000 tags has 50,000 lines. */}
        <pre>{Array.from({ length: lines }, (_, i) => i + 1).join('\n')}</pre>
        {[...bad].map(([line, text]) => (
          <div key={line} class="bad" style={{ top: `${(line - 1) * LINE_HEIGHT}px` }} title={text}>
            {line}
          </div>
        ))}
      </div>
      <textarea
        ref={area}
        aria-label={label}
        spellcheck={false}
        autocapitalize="off"
        autocomplete="off"
        wrap="off"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          // Tab indents by two spaces; Escape then Tab leaves the editor, so the keyboard is not trapped.
          if (e.key !== 'Tab') {
            escaped.current = e.key === 'Escape';
            return;
          }
          if (escaped.current || e.shiftKey) {
            escaped.current = false;
            return;
          }
          e.preventDefault();
          const el = e.currentTarget;
          el.setRangeText('  ', el.selectionStart, el.selectionEnd, 'end');
          onInput(el.value);
        }}
      />
    </div>
  );
}

export function ProblemList({
  problems,
  goTo,
}: {
  problems: Problem[];
  goTo: (line: number, column?: number) => void;
}) {
  if (problems.length === 0) return null;
  return (
    <ul class="problems" data-testid="problems" role="alert">
      {problems.map((p, i) => (
        <li key={i}>
          {p.line !== undefined ? (
            <button class="link" onClick={() => goTo(p.line!, p.column)}>
              line {p.line}
              {p.column !== undefined ? `, column ${p.column}` : ''}
            </button>
          ) : null}{' '}
          <span class="mono">{p.pointer || '/'}</span>: {p.message}
        </li>
      ))}
    </ul>
  );
}
