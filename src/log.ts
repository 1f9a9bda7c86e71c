// Logging: pino. Readable lines when a person watches a terminal; JSON lines, one object per line,
// when stdout is not a terminal (journald, a file, a pipe), for machines to parse.
import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { PrettyStream } from 'pino-pretty';

export type { Logger };

const base = { pid: undefined, hostname: undefined };

export function createLogger(
  level: LevelWithSilent = 'info',
  pretty = process.stdout.isTTY === true,
): Logger {
  if (!pretty) return pino({ level, base });
  // pino-pretty in this thread (not a transport worker): nothing to start, nothing lost on exit.
  // Loaded only for a terminal, so a service does not pay for it.
  const require = createRequire(import.meta.url);
  const { PinoPretty } = require('pino-pretty') as { PinoPretty: (o: object) => PrettyStream };
  const stream = PinoPretty({
    colorize: true,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
  });
  return pino({ level, base }, stream);
}

/** A logger that says nothing, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
