// A problem in a config or mapping file, and the error that carries all of them at once.

/** One problem, printed as `${file}: ${pointer}: ${message}`. `pointer` is a JSON pointer ("/" is the document). */
export interface ConfigProblem {
  file: string;
  pointer: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}: ${p.pointer}: ${p.message}`;
}

/** Thrown by loadConfig with every problem found in the config and all its mappings. */
export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      problems.length === 1
        ? formatProblem(problems[0]!)
        : `${problems.length} problems in the configuration:\n${problems.map(formatProblem).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Escapes one key for a JSON pointer (RFC 6901). */
export function pointerKey(key: string | number): string {
  return String(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerOf(...keys: Array<string | number>): string {
  return keys.length === 0 ? '/' : keys.map((k) => `/${pointerKey(k)}`).join('');
}
