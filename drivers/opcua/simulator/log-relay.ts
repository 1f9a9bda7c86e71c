// The simulator thread's logger: a DriverLogger that posts each entry to the parent, which logs it
// through the DriverLogger it was given (one stream, one format, no logging library in the thread).
import type { DriverLogger } from '../../types.js';

export type RelayLevel = 'debug' | 'info' | 'warn' | 'error';

/** One log call, as it crosses the thread boundary (structured clone keeps Error objects). */
export interface RelayedEntry {
  level: RelayLevel;
  /** The `child()` bindings, outermost first. */
  bindings: Record<string, unknown>[];
  fields?: object;
  msg?: string;
}

const RANK: Record<string, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, silent: 6 };

/**
 * A logger that posts entries at or above `level` (pino's level names; the parent's level, so the
 * thread does not post what the parent would drop).
 */
export function postingLogger(
  level: string,
  post: (entry: RelayedEntry) => void,
  bindings: Record<string, unknown>[] = [],
): DriverLogger {
  const threshold = RANK[level] ?? RANK.info!;
  const at =
    (entryLevel: RelayLevel) =>
    (obj: object | string, msg?: string): void => {
      if (RANK[entryLevel]! < threshold) return;
      post(
        typeof obj === 'string'
          ? { level: entryLevel, bindings, msg: obj }
          : { level: entryLevel, bindings, fields: obj, ...(msg === undefined ? {} : { msg }) },
      );
    };
  return {
    level,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => postingLogger(level, post, [...bindings, more]),
  };
}

/** Logs an entry from the thread through `log`, under the same child bindings. */
export function relayEntry(log: DriverLogger, entry: RelayedEntry): void {
  const target = entry.bindings.reduce<DriverLogger>((l, b) => l.child(b), log);
  if (entry.fields === undefined) target[entry.level](entry.msg ?? '');
  else target[entry.level](entry.fields, entry.msg);
}
