// Logging: pino, JSON lines for machines, readable lines when a person watches a terminal.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(
  level: LevelWithSilent = 'info',
  pretty = process.stdout.isTTY === true,
): Logger {
  if (!pretty) return pino({ level, base: { pid: undefined, hostname: undefined } });
  return pino({
    level,
    base: { pid: undefined, hostname: undefined },
    transport: {
      target: 'pino-pretty',
      options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  });
}

/** A logger that says nothing, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
