// How every command reports a config that does not load: each problem on its own line
// (`file: /pointer: message`, the format of `tagwire validate`), then the command's own closing
// line saying what it did not do. Anything other than config problems is not ours to word: rethrown.
import {
  ConfigError,
  formatProblem,
  loadConfig,
  type ConfigProblem,
  type LoadedConfig,
} from '../config/load.js';

export type WriteLine = (line: string) => void;

const toStderr: WriteLine = (line) => process.stderr.write(`${line}\n`);

/**
 * Prints the problems of a ConfigError and `closing` (given the problems) below them; rethrows any
 * other error. The caller then exits 1.
 */
export function reportConfigError(
  err: unknown,
  closing?: string | ((problems: readonly ConfigProblem[]) => string),
  write: WriteLine = toStderr,
): void {
  if (!(err instanceof ConfigError)) throw err;
  for (const problem of err.problems) write(formatProblem(problem));
  const last = typeof closing === 'function' ? closing(err.problems) : closing;
  if (last !== undefined) write(last);
}

/** Loads a config, or reports why it does not load (reportConfigError) and gives undefined: exit 1. */
export async function loadConfigOrReport(
  file: string,
  closing?: string | ((problems: readonly ConfigProblem[]) => string),
): Promise<LoadedConfig | undefined> {
  try {
    return await loadConfig(file);
  } catch (err) {
    reportConfigError(err, closing);
    return undefined;
  }
}
